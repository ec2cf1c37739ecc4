using System.Text.RegularExpressions;
using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Language;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Setup;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// The zh-TW edition of the notebooks runs the same code cells as the English one, so the self-checks choose the
/// language of their messages themselves (<see cref="KdEnvironment.Language"/>). With zh-TW every verdict is in
/// Traditional Chinese: "正確：" for a right answer, "還不對：" and the mistake for a wrong one, "尚未作答：" for a stub
/// (ExerciseStubTests covers every check's stub). The English messages are the other exercise tests' business.
/// </summary>
public class ExerciseLanguageTests
{
    static IDisposable ZhTW() => KdEnvironment.UseLanguage(KdEnvironment.TraditionalChinese);

    /// <summary>English prose left in a Chinese message (identifiers, code, math and numbers are allowed).</summary>
    static readonly Regex EnglishProse = new(@"\b(the|The|you|You|your|is|are|not|and|of|with|instead|should)\b");

    static void InChinese(string message)
    {
        Assert.Matches(@"\p{IsCJKUnifiedIdeographs}", message);
        var english = EnglishProse.Match(message);
        Assert.False(english.Success, $"English word '{english.Value}' in: {message}");
    }

    static void Correct(CheckResult result, params string[] phrases)
    {
        Assert.True(result.Passed, result.Message);
        Assert.StartsWith("正確：", result.Message);
        InChinese(result.Message);
        foreach (var phrase in phrases) Assert.Contains(phrase, result.Message);
    }

    static void NotYet(CheckResult result, params string[] phrases)
    {
        Assert.False(result.Passed, result.Message);
        Assert.StartsWith("還不對：", result.Message);
        InChinese(result.Message);
        foreach (var phrase in phrases) Assert.Contains(phrase, result.Message);
    }

    [Fact]
    public void Soft_label_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        Correct(SoftLabelChecks.CheckOneHot(SoftLabelStats.OneHot), "每個標籤一列");
        Correct(SoftLabelChecks.CheckEntropy(SoftTargets.Entropy), "奈特");
        Correct(SoftLabelChecks.CheckAverageSoftLabels((p, y) => SoftLabelStats.AverageSoftLabels(p, y)));
        NotYet(SoftLabelChecks.CheckOneHot((y, classes) => F.one_hot(y, classes)), "dtype 是 Int64", ".to_type(ScalarType.Float32)");
        NotYet(SoftLabelChecks.CheckEntropy(p => p.mul(p.log()).sum(-1).neg()), "0 · log 0", "p.clamp_min(1e-12).log()");
        NotYet(SoftLabelChecks.CheckAverageSoftLabels((p, y) => SoftLabelStats.AverageSoftLabels(p, y).t()), "列與欄對調了");
        // A Chinese function name takes no space before the Chinese text; the exception's own message stays as it is.
        var threw = SoftLabelChecks.CheckOneHot((y, classes) => throw new InvalidOperationException("todo"));
        Assert.False(threw.Passed);
        Assert.Equal("還不對：你的 one-hot 函式擲出了 InvalidOperationException：todo", threw.Message);
    }

    [Fact]
    public void Temperature_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        Correct(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => SoftTargets.Probabilities(z, T)));
        Correct(TemperatureChecks.CheckSoftLoss((z, v, T) => HintonKDLoss.SoftLoss(z, v, T)), "T²·KL(p_T ‖ q_T)");
        NotYet(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z, -1)), "一般的 softmax", "softmax(logits / T)");
        NotYet(TemperatureChecks.CheckSoftLoss((z, v, T) => HintonKDLoss.SoftLoss(z, v, T).div(T * T)), "你忘了 T² 因子");
        // The check rewrites a failure of the learner's broadcast; its frame must come off in Chinese too.
        var broadcast = TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => z.div(T).exp().div(z.div(T).exp().sum(-1)));
        Assert.StartsWith("還不對：你的 softmax 擲出了 ", broadcast.Message);
        Assert.DoesNotContain("還不對：還不對", broadcast.Message);
        Assert.Contains("keepdim: true，類別維度會被去掉", broadcast.Message);
    }

    [Fact]
    public void Divergence_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        static Tensor Kl(Tensor p, Tensor q) => xlogy(p, p).sub(xlogy(p, q)).sum().div(p.shape[0]);
        Correct(DivergenceChecks.CheckKl(Kl), "p 中恰好為 0 的值");
        Correct(DivergenceChecks.CheckKlDiv((s, t) => HintonKDLoss.SoftLoss(s, t, 1.0)));
        Correct(DivergenceChecks.CheckReverseKl((s, t) => new ReverseKLLoss().call(s, t)));
        NotYet(DivergenceChecks.CheckKl((p, q) => Kl(q, p)), "p 與 q 對調了");
        NotYet(DivergenceChecks.CheckKl((p, q) => p.mul(p.log().sub(q.log())).sum().div(p.shape[0])), "xlogy(p, p) − xlogy(p, q)");
        NotYet(DivergenceChecks.CheckKlDiv((s, t) => F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction: nn.Reduction.Mean, log_target: true)), "「batchmean」");
        NotYet(DivergenceChecks.CheckReverseKl((s, t) => new ReverseKLLoss().call(s, t).unsqueeze(0).repeat(4)), "批次取平均");
        Correct(DivergenceChecks.CheckPeakPrediction("left", () => (-2.98, 0.61)), "μ = -2.98、σ = 0.61，也就是左邊的峰", "每個峰各有一個極小值");
        NotYet(DivergenceChecks.CheckPeakPrediction("both", () => (-2.98, 0.61)), "你預測的是兩個峰，但從 μ = −0.5 出發");
        NotYet(DivergenceChecks.CheckPeakPrediction("中間", () => throw new InvalidOperationException()), "「中間」不是");
        Assert.StartsWith("尚未作答：在引號之間寫下", DivergenceChecks.CheckPeakPrediction("", () => throw new InvalidOperationException()).Message);
    }

    [Fact]
    public void Setup_check_speaks_zh_TW()
    {
        using var _ = ZhTW();
        Correct(SetupChecks.CheckBatchSize(32, quickMode: true), "快速模式的批次大小是 32");
        Correct(SetupChecks.CheckBatchSize(256, quickMode: false), "完整執行的批次大小是 256");
        NotYet(SetupChecks.CheckBatchSize(256, quickMode: true), "在快速模式中得到 256", "full: 與 quick: 對調了");
        NotYet(SetupChecks.CheckBatchSize(100, quickMode: false), "完整執行應該是 256");
        Assert.Equal("尚未作答：把 0 換成對 KdEnvironment.Pick 的呼叫，然後再執行一次這個儲存格。", SetupChecks.CheckBatchSize(0, quickMode: true).Message);
    }

    [Fact]
    public void Distillation_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        static Tensor Hinton(Tensor z, Tensor v, Tensor y, double T, double a, double power = 2, bool mean = false, bool detach = true)
        {
            var logQ = F.log_softmax(z.div(T), 1);
            var logP = F.log_softmax((detach ? v.detach() : v).div(T), 1);
            var entries = logP.exp().mul(logP.sub(logQ));
            var soft = mean ? entries.mean() : entries.sum().div(z.shape[0]);
            return soft.mul(Math.Pow(T, power) * a).add(F.cross_entropy(z, y).mul(1 - a));
        }
        Correct(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a)), "學生得到梯度，教師則沒有。");
        Correct(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => new HintonKDLoss(T, a, SoftTargetForm.CrossEntropy).call(z, v, y)), "附註：你用了軟目標項的交叉熵形式");
        Correct(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) =>
        {
            teacher.eval();
            using var noGrad = no_grad();
            return F.softmax(teacher.call(X).div(T), 1);
        }), "評估模式");
        NotYet(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, detach: false)), "梯度流進了教師的邏輯值");
        NotYet(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) =>
        {
            using var noGrad = no_grad();
            return F.softmax(teacher.call(X).div(T), 1);
        }), "teacher.eval()");
        var two = DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, power: 0, mean: true));
        Assert.False(two.Passed);
        Assert.StartsWith("還不對，有 2 個地方要修正：" + Environment.NewLine + "  1. 你忘了蒸餾損失上的 T² 因子", two.Message);
        Assert.Contains(Environment.NewLine + "  2. 蒸餾損失對全部 B × C 個元素取了平均", two.Message);
        InChinese(two.Message);
    }

    [Fact]
    public void Feature_and_relation_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        Correct(FeatureChecks.CheckAttentionMap(f => new AttentionTransferLoss().AttentionMap(f)));
        Correct(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(r.call(s), t.detach())), "學生與迴歸器得到梯度");
        Correct(RelationChecks.CheckNormalisedDistances(RkdDistanceLoss.NormalisedDistances));
        Correct(RelationChecks.CheckSimilarity(SimilarityPreservingLoss.Similarity));
        NotYet(FeatureChecks.CheckAttentionMap(f => F.normalize(f.abs().mean([1]).flatten(1), p: 2, dim: 1)), "|f|，不是 |f|²");
        NotYet(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(r.call(s), t)), "梯度流進了教師的特徵");
        NotYet(RelationChecks.CheckNormalisedDistances(e => { var d = RkdDistanceLoss.PairwiseDistances(e).pow(2); return d.div(d.sum().div(20)); }), "距離的平方");
        NotYet(RelationChecks.CheckSimilarity(f => { var a = f.flatten(1); return a.matmul(a.t()); }), "各列沒有正規化");
    }

    static IReadOnlyList<int> Filter(IReadOnlyList<AdditionProblem> problems, IReadOnlyList<string> completions) =>
        [.. Enumerable.Range(0, problems.Count).Where(i => AdditionTask.ExtractAnswer(completions[i]) == problems[i].Sum)];

    [Fact]
    public void Language_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        Correct(LanguageChecks.CheckTokenKD((z, v, m, T) => new TokenKDLoss(T).Compute(z, v, null, m)));
        Correct(LanguageChecks.CheckRejectionFilter(Filter), "看不出這一點");
        var strict = LanguageChecks.CheckRejectionFilter((p, c) => [.. Filter(p, c).Where(i => !c[i].StartsWith("5+7+0=11", StringComparison.Ordinal))]);
        Assert.True(strict.Passed, strict.Message);
        Assert.StartsWith("正確，而且比 DeepSeek-R1 的篩選器更嚴格：", strict.Message);
        InChinese(strict.Message);
        NotYet(LanguageChecks.CheckTokenKD((z, v, m, T) => new TokenKDLoss(T).Compute(z, v, null, null)), "遮罩被忽略了");
        var all = LanguageChecks.CheckRejectionFilter((p, c) => [.. Enumerable.Range(0, p.Count)]);
        Assert.StartsWith("還不對，有 3 個地方要修正：", all.Message);
        Assert.Contains("「…;ans 131」", all.Message);
        InChinese(all.Message);
    }

    [Fact]
    public void Reproduction_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        static double Mean(IReadOnlyList<double> x) => x.Average();
        static double SumSquares(IReadOnlyList<double> x) => x.Sum(v => (v - Mean(x)) * (v - Mean(x)));
        Correct(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(a) - Mean(b)) / Math.Sqrt(SumSquares(a) / (a.Count - 1) / a.Count + SumSquares(b) / (b.Count - 1) / b.Count)), "樣本變異數");
        Correct(ReproductionChecks.CheckGapClosed((t, s, d) => t > s ? (d - s) / (t - s) : double.NaN));
        NotYet(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(a) - Mean(b)) / Math.Sqrt(SumSquares(a) / a.Count / a.Count + SumSquares(b) / b.Count / b.Count)), "除以 n − 1 的樣本變異數");
        NotYet(ReproductionChecks.CheckGapClosed((t, s, d) => 100 * (d - s) / (t - s)), "而不是百分比（91）", "（對 Hinton 等人的 MNIST 結果：");
        NotYet(ReproductionChecks.CheckGapClosed((t, s, d) => (d - s) / (t - s)), "沒有差距可以縮小", "double.NaN");
    }

    [Fact]
    public void Student_cost_checks_speak_zh_TW()
    {
        using var _ = ZhTW();
        Correct(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, 2 * cin * k * k * cout * h * w)), "nn.Conv2d(8, 16, kernel_size: 5)");
        Correct(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Evaluator.ExpectedCalibrationError(c, ok, bins)));
        NotYet(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout, 2 * cin * k * k * cout * h * w)), "參數：你忘了偏差");
        var macs = StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, cin * k * k * cout * h * w));
        NotYet(macs, "乘加次數");
        Assert.StartsWith("還不對：FLOPs：", macs.Message);
        NotYet(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) =>
            Evaluator.ExpectedCalibrationError(c, ok, bins) + 0.25), "使用 10 個區間時");
    }

    /// <summary>The English frames, word for word, as the notebooks and the solution files quote them.</summary>
    [Fact]
    public void In_English_the_frames_are_unchanged()
    {
        using var _ = KdEnvironment.UseLanguage(KdEnvironment.English);
        Assert.Equal("Not attempted yet: MyKl still throws NotImplementedException. Replace that line with your code, run the cell, then run this check again.",
            DivergenceChecks.CheckKl((p, q) => throw new NotImplementedException()).Message);
        Assert.Equal("Not yet: Your one-hot function threw InvalidOperationException: todo",
            SoftLabelChecks.CheckOneHot((y, classes) => throw new InvalidOperationException("todo")).Message);
        var all = LanguageChecks.CheckRejectionFilter((p, c) => [.. Enumerable.Range(0, p.Count)]);
        Assert.StartsWith("Not yet, 3 things to fix:" + Environment.NewLine + "  1. You kept a chain whose final answer is wrong", all.Message);
        var macs = StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, cin * k * k * cout * h * w));
        Assert.StartsWith("Not yet: FLOPs: You counted multiply-adds;", macs.Message);
        Assert.StartsWith("Correct: one row per label, 10 columns", SoftLabelChecks.CheckOneHot(SoftLabelStats.OneHot).Message);
    }
}

using System.Runtime.InteropServices;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 07 (what the student buys): counting a convolution's parameters and FLOPs
/// by hand, and computing the expected calibration error from confidences. Each names the mistake it finds: a missing
/// bias, k instead of k², multiply-adds instead of FLOPs, bins not weighted by their counts, a signed gap, wrong bin edges.
/// </summary>
public static class StudentCostChecks
{
    /// <summary>
    /// Checks <c>myConvCost(cin, cout, k, hout, wout)</c>, which should return the parameters of
    /// <c>nn.Conv2d(cin, cout, k)</c> with its bias, <c>cin · k² · cout + cout</c>, and its forward FLOPs per image as
    /// <see cref="Flops.Conv2d"/> counts them, <c>2 · cin · k² · cout · hout · wout</c> (2 × multiply-adds, bias additions
    /// ignored). The parameters are compared with a real TorchSharp layer.
    /// </summary>
    public static CheckResult CheckConvCost(Func<long, long, long, long, long, (long Parameters, long Flops)> myConvCost)
    {
        ArgumentNullException.ThrowIfNull(myConvCost);
        (long cin, long cout, long k, long hout, long wout)[] settings = [(3, 5, 3, 7, 6), (8, 16, 5, 14, 14)];
        string? remark = null;
        foreach (var (cin, cout, k, hout, wout) in settings)
        {
            (long Parameters, long Flops) answer;
            try
            {
                answer = myConvCost(cin, cout, k, hout, wout);
            }
            catch (Exception e)
            {
                return LearnerCode.Threw("MyConvCost", e);
            }
            long parameters;
            using (var layer = nn.Conv2d(cin, cout, k))
                parameters = ModelSize.ParameterCount(layer);
            long flops = Flops.Conv2d(cin, cout, k, hout, wout);
            string layerText = Say($"nn.Conv2d({cin}, {cout}, kernel_size: {k}) with a {hout}×{wout} output",
                $"輸出為 {hout}×{wout} 的 nn.Conv2d({cin}, {cout}, kernel_size: {k})");

            if (answer.Parameters != parameters)
            {
                (long Value, string Message)[] parameterMistakes =
                [
                    (cin * k * k * cout, Say("You forgot the bias: each of the cout filters has one, so add cout.",
                        "你忘了偏差：cout 個濾波器各有一個偏差，所以要加上 cout。")),
                    (cin * k * cout + cout, Say("A k×k kernel has k² weights per input channel, not k: cin · k² · cout.",
                        "k×k 的卷積核在每個輸入通道上有 k² 個權重，而不是 k 個：cin · k² · cout。")),
                    ((cin * k * k * cout + cout) * hout * wout, Say("The weights are shared by every output position (that is what makes it a convolution): do not multiply the parameters by hout · wout.",
                        "權重由所有輸出位置共用（這正是卷積的特性）：不要把參數乘以 hout · wout。")),
                    (cin * k * k + cout, Say("Each of the cout filters has its own cin · k² weights: cin · k² · cout, plus cout biases.",
                        "cout 個濾波器各有自己的 cin · k² 個權重：cin · k² · cout，再加上 cout 個偏差。")),
                    (cin * k * k * cout + cin, Say("There is one bias per output channel (cout), not per input channel.",
                        "每個輸出通道（cout）有一個偏差，而不是每個輸入通道。")),
                ];
                var match = parameterMistakes.FirstOrDefault(m => m.Value == answer.Parameters);
                return LearnerCode.Fail(match.Message is not null
                    ? Say($"parameters: {match.Message} (For {layerText}: you said {answer.Parameters:N0}, ModelSize.ParameterCount says {parameters:N0}.)",
                        $"參數：{match.Message}（對於{layerText}：你的答案是 {answer.Parameters:N0}，ModelSize.ParameterCount 是 {parameters:N0}。）")
                    : Say($"parameters: for {layerText} you said {answer.Parameters:N0}, but the layer has {parameters:N0}: cin · k² weights per filter, cout filters, and one bias per filter.",
                        $"參數：對於{layerText}，你的答案是 {answer.Parameters:N0}，但這一層有 {parameters:N0} 個：每個濾波器 cin · k² 個權重、cout 個濾波器，以及每個濾波器一個偏差。"));
            }
            if (answer.Flops != flops)
            {
                IReadOnlyList<IReadOnlyList<Choice>> dimensions =
                [
                    [Choice.Right, new(Say("You counted multiply-adds; a multiply-add is two floating-point operations, so FLOPs are 2 × multiply-adds.",
                        "你算的是乘加次數；一次乘加是兩次浮點運算，所以 FLOPs 是 2 × 乘加次數。"))],
                    [Choice.Right, new(Say("The filters are applied at every output position: multiply by hout · wout.",
                        "濾波器會套用在每個輸出位置上：請乘以 hout · wout。"))],
                    [Choice.Right, new(Say("A k×k kernel has k² weights per input channel: use k², not k.",
                        "k×k 的卷積核在每個輸入通道上有 k² 個權重：請用 k²，而不是 k。"))],
                    [Choice.Right, new(Say("You added the bias additions; the library's FLOP counts (ModelSize, Flops) leave them out, since they are one operation per output next to 2 · cin · k² for the products.",
                        "你把偏差的加法也算進去了；函式庫的 FLOP 計數（ModelSize、Flops）不算它們，因為它們每個輸出只有一次運算，而乘積有 2 · cin · k² 次。"))],
                ];
                var explained = MistakeFinder.Explain(dimensions, c => tensor((double)ConvFlopsVariant(cin, cout, k, hout, wout, c), ScalarType.Float64), tensor((double)answer.Flops, ScalarType.Float64));
                var verdict = MistakeFinder.Verdict(explained, "",
                    Say($"for {layerText} you said {answer.Flops:N0} FLOPs, but Flops.Conv2d counts {flops:N0} = 2 · cin · k² · cout · hout · wout.",
                        $"對於{layerText}，你的答案是 {answer.Flops:N0} FLOPs，但 Flops.Conv2d 算出 {flops:N0} = 2 · cin · k² · cout · hout · wout。"));
                return new CheckResult(false, verdict.Message.Replace(LearnerCode.NotYet, LearnerCode.NotYet + Say("FLOPs: ", "FLOPs："), StringComparison.Ordinal)
                    + (explained is null ? "" : Say($" (For {layerText}: you said {answer.Flops:N0}, Flops.Conv2d says {flops:N0}.)",
                        $"（對於{layerText}：你的答案是 {answer.Flops:N0}，Flops.Conv2d 是 {flops:N0}。）")));
            }
            remark = Say($"{layerText}: {parameters:N0} parameters and {flops:N0} FLOPs per image",
                $"{layerText}：{parameters:N0} 個參數，每張影像 {flops:N0} FLOPs");
        }
        return LearnerCode.Pass(Say($"parameters cin · k² · cout + cout and FLOPs 2 · cin · k² · cout · hout · wout, as ModelSize and Flops count them ({remark}).",
            $"參數 cin · k² · cout + cout，FLOPs 2 · cin · k² · cout · hout · wout，與 ModelSize 和 Flops 的計算相同（{remark}）。"));
    }

    /// <summary>
    /// Checks <c>myEce(confidence, correct, bins)</c>: the expected calibration error of predictions with top-class
    /// probabilities <c>confidence</c> [N] (float64) and <c>correct</c> [N] (bool), with <c>bins</c> equal-width bins
    /// [b/bins, (b+1)/bins) and a confidence of exactly 1 in the last bin, as <see cref="Evaluator.ExpectedCalibrationError"/>
    /// computes it: <c>Σ_b (n_b / N) · |accuracy_b − confidence_b|</c>.
    /// </summary>
    public static CheckResult CheckExpectedCalibrationError(Func<Tensor, Tensor, int, double> myEce)
    {
        ArgumentNullException.ThrowIfNull(myEce);
        using var scope = NewDisposeScope();
        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new(Say("Weight each bin by its share of the predictions, n_b / N: you averaged the bins' gaps as if every bin held as many predictions, so a bin with 3 predictions counts as much as one with 300.",
                 "請以每個區間所占預測的比例 n_b / N 加權：你把各區間的差距直接平均，彷彿每個區間的預測一樣多，於是只有 3 個預測的區間和有 300 個的區間一樣重要。")),
             new(Say("Weight each bin by n_b / N: you averaged the gaps over all the bins, empty ones included (as 0), which divides by the number of bins instead of weighting by counts.",
                 "請以 n_b / N 為每個區間加權：你對所有區間（包括空的區間，以 0 計）平均差距，這是除以區間數，而不是依數量加權。"))],
            [Choice.Right, new(Say("Take the absolute value of accuracy − confidence in each bin: signed gaps of over-confident bins (negative) and under-confident bins (positive) cancel, and the sum can even be negative.",
                "請對每個區間的 accuracy − confidence 取絕對值：過度自信的區間（負）與信心不足的區間（正）帶正負號的差距會互相抵銷，總和甚至可能是負的。"))],
            [Choice.Right,
             new(Say("Wrong bin edges: you rounded confidence · bins to the nearest integer; the bin is floor(confidence · bins), so that bin b holds [b/bins, (b+1)/bins).",
                 "區間邊界錯了：你把 confidence · bins 四捨五入到最接近的整數；區間應該是 floor(confidence · bins)，這樣第 b 個區間才是 [b/bins, (b+1)/bins)。")),
             new(Say("Wrong bin edges: your bins are closed on the right, (b/bins, (b+1)/bins], so a confidence exactly on an edge lands one bin lower. Use floor(confidence · bins), as Evaluator does: bin b holds [b/bins, (b+1)/bins), with 1 in the last bin.",
                 "區間邊界錯了：你的區間是右閉的 (b/bins, (b+1)/bins]，所以恰好落在邊界上的信心度會被放進低一格的區間。請和 Evaluator 一樣用 floor(confidence · bins)：第 b 個區間是 [b/bins, (b+1)/bins)，1 歸入最後一個區間。")),
             new(Say("Wrong bin edges: you made bins − 1 bins (edges linspace(0, 1, bins)). bins bins need bins + 1 edges: bin = floor(confidence · bins).",
                 "區間邊界錯了：你做出了 bins − 1 個區間（邊界為 linspace(0, 1, bins)）。bins 個區間需要 bins + 1 個邊界：bin = floor(confidence · bins)。"))],
        ];
        bool passedFirst = false;
        foreach (var (seed, bins) in new[] { (31UL, 10), (32UL, 15) })
        {
            var (confidence, correct) = EceInputs(seed, bins);
            double value;
            try
            {
                value = myEce(confidence.clone(), correct.clone(), bins);
            }
            catch (Exception e)
            {
                string hint = e is IndexOutOfRangeException or ArgumentOutOfRangeException or ExternalException
                    ? Say(" Some confidences are exactly 1: floor(1 · bins) = bins is one past the last bin, so clamp the bin index to bins − 1.",
                        " 有些信心度恰好是 1：floor(1 · bins) = bins 超出了最後一個區間，所以請把區間索引限制在 bins − 1 以內。")
                    : "";
                return LearnerCode.Threw("MyEce", e, hint);
            }
            if (!double.IsFinite(value))
                return LearnerCode.Fail(Say($"MyEce returned {value}. An empty bin has no accuracy or confidence; skip it (its weight n_b / N is 0) instead of dividing by its count of 0.",
                    $"MyEce 傳回了 {value}。空的區間沒有準確率或信心度；請跳過它（它的權重 n_b / N 是 0），而不是除以它的數量 0。"));
            double expected = Evaluator.ExpectedCalibrationError(confidence, correct, bins);
            if (Math.Abs(value - expected) <= MistakeFinder.Atol + MistakeFinder.Rtol * Math.Abs(expected))
            {
                passedFirst = true;
                continue;
            }
            var explained = MistakeFinder.Explain(dimensions, c => tensor(EceVariant(confidence, correct, bins, c), ScalarType.Float64), tensor(value, ScalarType.Float64));
            var verdict = MistakeFinder.Verdict(explained, "",
                Say($"with {bins} bins MyEce gave {value:G6}, but the ECE is {expected:G6}. Put each prediction in bin floor(confidence · bins) (1 in the last bin), then add up (n_b / N) · |accuracy_b − mean confidence_b| over the non-empty bins.",
                    $"使用 {bins} 個區間時 MyEce 得到 {value:G6}，但 ECE 是 {expected:G6}。請把每個預測放進區間 floor(confidence · bins)（1 歸入最後一個區間），再對非空的區間加總 (n_b / N) · |accuracy_b − mean confidence_b|。"));
            if (explained is null && passedFirst)
                return LearnerCode.Fail(Say($"right for 10 bins but not for {bins}: MyEce gave {value:G6}, the ECE is {expected:G6}. Use the parameter bins, not a fixed number.",
                    $"10 個區間時是對的，但 {bins} 個時不對：MyEce 得到 {value:G6}，ECE 是 {expected:G6}。請使用參數 bins，而不是固定的數字。"));
            return verdict;
        }
        return LearnerCode.Pass(Say("Σ_b (n_b / N) · |accuracy_b − confidence_b| over bins [b/bins, (b+1)/bins), the same number as Evaluator.ExpectedCalibrationError, for 10 and 15 bins (confidences of exactly 1 and on bin edges included).",
            "在區間 [b/bins, (b+1)/bins) 上計算 Σ_b (n_b / N) · |accuracy_b − confidence_b|，10 與 15 個區間時都與 Evaluator.ExpectedCalibrationError 的數值相同（包括信心度恰好為 1 與落在區間邊界上的情況）。"));
    }

    /// <summary>Random predictions: confidences in [0.1, 1] with some exactly 1 and some exactly on bin edges, and
    /// correctness drawn with a probability that differs from the confidence (so the gaps have both signs).</summary>
    static (Tensor Confidence, Tensor Correct) EceInputs(ulong seed, int bins)
    {
        using var generator = new Generator(seed);
        const int n = 400;
        var confidence = rand(n, dtype: ScalarType.Float64, generator: generator).mul(0.9).add(0.1);
        // Exactly 1, and exactly on edges b / bins that are exact in binary floating point for both settings (0.5, 0.8 ...).
        var special = tensor(new double[] { 1.0, 1.0, 1.0, 0.5, 0.5, 0.6, 0.8, 0.8, 0.4, 0.2 }, ScalarType.Float64);
        confidence.narrow(0, 0, special.shape[0]).copy_(special);
        var wobble = rand(n, dtype: ScalarType.Float64, generator: generator).sub(0.5).mul(0.5);
        var correct = rand(n, dtype: ScalarType.Float64, generator: generator).lt(confidence.add(wobble).clamp(0, 1));
        return (confidence, correct);
    }

    // choices: weighting (count / unweighted over non-empty / over all bins), absolute value, bin edges (floor / round / right-closed / bins − 1)
    static double EceVariant(Tensor confidence, Tensor correct, int bins, int[] c)
    {
        using var scope = NewDisposeScope();
        var scaled = confidence.mul(c[2] == 3 ? bins - 1 : bins);
        var index = c[2] switch
        {
            1 => scaled.round(),
            2 => scaled.ceil().sub(1),
            _ => scaled.floor(),
        };
        int count = c[2] == 3 ? bins - 1 : bins;
        var bin = index.clamp(0, count - 1).to_type(ScalarType.Int64);
        var counts = bincount(bin, minlength: count).to_type(ScalarType.Float64);
        var confidenceSums = bincount(bin, confidence, minlength: count);
        var correctSums = bincount(bin, correct.to_type(ScalarType.Float64), minlength: count);
        var used = counts.gt(0);
        var gaps = correctSums.sub(confidenceSums).div(counts.clamp_min(1)); // accuracy_b − confidence_b, 0 in empty bins
        if (c[1] == 0) gaps = gaps.abs();
        return c[0] switch
        {
            1 => gaps.masked_select(used).mean().item<double>(),
            2 => gaps.sum().div(count).item<double>(),
            _ => gaps.mul(counts).sum().div(confidence.shape[0]).item<double>(),
        };
    }

    // choices: factor 2, output positions, k², bias additions
    static long ConvFlopsVariant(long cin, long cout, long k, long hout, long wout, int[] c)
    {
        long macs = cin * (c[2] == 0 ? k * k : k) * cout * (c[1] == 0 ? hout * wout : 1);
        return (c[0] == 0 ? 2 : 1) * macs + (c[3] == 0 ? 0 : cout * (c[1] == 0 ? hout * wout : 1));
    }
}

using KnowledgeDistillation.Losses;
using TorchSharp;
using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 05 (feature-based distillation): the learner's attention map (Zagoruyko and
/// Komodakis) and FitNets hint loss (Romero et al.). Each names the mistake it finds.
/// </summary>
public static class FeatureChecks
{
    const int Batch = 3, Channels = 4, Side = 5, TeacherChannels = 8;

    /// <summary>
    /// Checks <c>myAttentionMap(features)</c> for feature maps [B, C, H, W]: the mean over channels of the squared
    /// activations, flattened to [B, H·W] and divided by its L2 norm per image, as
    /// <see cref="AttentionTransferLoss.AttentionMap"/> computes it (p = 2).
    /// </summary>
    public static CheckResult CheckAttentionMap(Func<Tensor, Tensor> myAttentionMap)
    {
        ArgumentNullException.ThrowIfNull(myAttentionMap);
        using var scope = NewDisposeScope();
        var f = Features(31, Channels);
        var (value, failure) = MistakeFinder.Call(() => myAttentionMap(f.clone()), "MyAttentionMap");
        if (failure is not null) return failure;
        var shape = value!.shape;
        if (shape.SequenceEqual([(long)Batch, Side, Side]))
            return LearnerCode.Fail(Say($"MyAttentionMap returned [{Batch}, {Side}, {Side}]; flatten each map to one row, [B, H·W] = [{Batch}, {Side * Side}], before normalising it (normalise the whole map, not each row of pixels).",
                $"MyAttentionMap 傳回了 [{Batch}, {Side}, {Side}]；請在正規化之前把每張圖攤平成一列，[B, H·W] = [{Batch}, {Side * Side}]（對整張圖做正規化，而不是對每一列像素）。"));
        if (shape.SequenceEqual([(long)Batch, Channels]))
            return LearnerCode.Fail(Say($"MyAttentionMap returned [{Batch}, {Channels}], one value per channel: you averaged over the positions. An attention map averages over the channels (dimension 1) and keeps one value per position.",
                $"MyAttentionMap 傳回了 [{Batch}, {Channels}]，每個通道一個值：你對位置取了平均。注意力圖是對通道（維度 1）取平均，每個位置保留一個值。"));
        if (!shape.SequenceEqual([(long)Batch, Side * Side]))
            return LearnerCode.Fail(Say($"MyAttentionMap returned [{string.Join(", ", shape)}]; for features [{Batch}, {Channels}, {Side}, {Side}] it should return [{Batch}, {Side * Side}]: one flattened map per image.",
                $"MyAttentionMap 傳回了 [{string.Join(", ", shape)}]；對特徵 [{Batch}, {Channels}, {Side}, {Side}]，它應該傳回 [{Batch}, {Side * Side}]：每張影像一張攤平的圖。"));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new(Say("You used |f|, not |f|²: the paper's maps (and the library's default p = 2) square the activations, which stresses the most active positions.",
                 "你用的是 |f|，不是 |f|²：論文中的注意力圖（以及函式庫預設的 p = 2）會把活化值平方，以強調最活躍的位置。")),
             new(Say("You averaged the raw activations: positive and negative values cancel. Take |f|² (the absolute value squared) before averaging over the channels.",
                 "你對原始的活化值取了平均：正值與負值會互相抵銷。請在對通道取平均之前先取 |f|²（絕對值的平方）。"))],
            [Choice.Right,
             new(Say("The map is not normalised: divide each image's flattened map by its L2 norm (F.normalize(map, p: 2, dim: 1)), so that maps of layers with different scales can be compared.",
                 "注意力圖沒有正規化：請把每張影像攤平後的圖除以它的 L2 範數（F.normalize(map, p: 2, dim: 1)），這樣不同尺度的層的注意力圖才能比較。")),
             new(Say("You divided by the sum (an L1 normalisation); attention transfer divides by the L2 norm, ‖map‖₂.",
                 "你除以的是總和（L1 正規化）；注意力轉移除以的是 L2 範數 ‖map‖₂。")),
             new(Say("You normalised across the batch (dimension 0) instead of per image: each image's map must have norm 1 on its own (dim: 1).",
                 "你是跨批次（維度 0）正規化，而不是對每張影像：每張影像的圖本身的範數都必須是 1（dim: 1）。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => AttentionVariant(f, c), value);
        return MistakeFinder.Verdict(explained, Say("each image's map is mean_c |f_c|², flattened and divided by its L2 norm.",
            "每張影像的圖是 mean_c |f_c|²，攤平後再除以它的 L2 範數。"),
            Say("the values differ from the attention map. Square the absolute activations, average over the channels (dimension 1), flatten to [B, H·W], then F.normalize(map, p: 2, dim: 1).",
                "數值與注意力圖不同。請把活化值的絕對值平方、對通道（維度 1）取平均、攤平成 [B, H·W]，然後 F.normalize(map, p: 2, dim: 1)。"));
    }

    /// <summary>
    /// Checks <c>myHintLoss(studentFeatures, teacherFeatures, regressor)</c>: the FitNets hint
    /// <c>mean((r(s) − t)²)</c> over every element, with the regressor applied to the student's features and the
    /// teacher's features treated as constants, as <see cref="HintLoss"/> computes it.
    /// </summary>
    public static CheckResult CheckHintLoss(Func<Tensor, Tensor, nn.Module<Tensor, Tensor>, Tensor> myHintLoss)
    {
        ArgumentNullException.ThrowIfNull(myHintLoss);
        using var scope = NewDisposeScope();
        var s = Features(41, Channels);
        var t = Features(42, TeacherChannels).mul(2);
        var regressor = Regressor(43);
        Tensor Reference(Tensor student, Tensor teacher) => F.mse_loss(regressor.call(student), teacher);

        var (value, failure) = MistakeFinder.Call(() => myHintLoss(s.clone(), t.clone(), regressor), "MyHintLoss");
        if (failure is not null)
            return new CheckResult(false, failure.Message + Say(
                $" (The student's features have {Channels} channels and the teacher's {TeacherChannels}: " +
                "the regressor maps the student's to the teacher's width, regressor.call(studentFeatures); it does not accept the teacher's.)",
                $"（學生的特徵有 {Channels} 個通道，教師的有 {TeacherChannels} 個：迴歸器把學生的特徵映射到教師的寬度，regressor.call(studentFeatures)；它不接受教師的特徵。）"));
        if (value!.numel() != 1)
            return LearnerCode.Fail(Say($"MyHintLoss returned shape [{string.Join(", ", value.shape)}]; average the squared errors over every element to get one number.",
                $"MyHintLoss 傳回的形狀是 [{string.Join(", ", value.shape)}]；請對每個元素的平方誤差取平均，得到單一數值。"));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new(Say("You used the absolute error; the hint loss squares the difference, (r(s) − t)².", "你用的是絕對誤差；提示損失是把差值平方，(r(s) − t)²。")),
             new(Say("You took the square root of the mean squared error (an RMS error); the hint loss is the mean squared error itself.",
                 "你對均方誤差取了平方根（RMS 誤差）；提示損失就是均方誤差本身。"))],
            [Choice.Right,
             new(Say("You summed the squared errors; average them over every element (F.mse_loss's default), so that the weight of the term does not depend on the feature map's size.",
                 "你把平方誤差加總了；請對每個元素取平均（F.mse_loss 的預設），這樣這一項的權重才不會取決於特徵圖的大小。")),
             new(Say("You computed FitNets' ½‖u − r(v)‖² summed over the elements. The paper writes it that way, but the library (and RepDistiller) averages over every element; use the mean so that the default weight applies.",
                 "你計算的是對元素加總的 FitNets ½‖u − r(v)‖²。論文是這樣寫的，但本函式庫（以及 RepDistiller）是對每個元素取平均；請用平均值，預設的權重才適用。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => HintVariant(s, t, regressor, c), value);
        var verdict = MistakeFinder.Verdict(explained, Say("the hint loss is mean((r(s) − t)²), with the regressor applied to the student.",
            "提示損失是 mean((r(s) − t)²)，迴歸器套用在學生上。"),
            Say($"MyHintLoss gave {value.item<double>():G6}, but the hint loss is {Reference(s, t).item<double>():G6}. Compute F.mse_loss(regressor.call(studentFeatures), teacherFeatures).",
                $"MyHintLoss 得到 {value.item<double>():G6}，但提示損失是 {Reference(s, t).item<double>():G6}。請計算 F.mse_loss(regressor.call(studentFeatures), teacherFeatures)。"));
        if (!verdict.Passed) return verdict;

        // Gradients: the student and the regressor learn; the teacher is a constant.
        var flow = MistakeFinder.GradientFlow((student, teacher) => myHintLoss(student, teacher, regressor), s, t, "MyHintLoss", Say("features", "特徵"),
            Say("the value is right but carries no gradient. Keep the computation in tensors, and do not detach the student's features.",
                "數值是對的，但沒有帶梯度。請讓計算都在張量上進行，也不要 detach 學生的特徵。"),
            Say("the value is right, but gradients flow into the teacher's features. Detach them (teacherFeatures.detach()): the teacher is frozen.",
                "數值是對的，但梯度流進了教師的特徵。請 detach 它們（teacherFeatures.detach()）：教師是凍結的。"),
            (regressor, Say("the value is right but the regressor gets no gradient; it must train together with the student.",
                "數值是對的，但迴歸器沒有得到梯度；它必須和學生一起訓練。")));
        if (flow is not null) return flow;
        return new CheckResult(true, verdict.Message + Say(" The student and the regressor get gradients, the teacher none.", "學生與迴歸器得到梯度，教師則沒有。"));
    }

    // choices: power (|f|², |f|, f), normalisation (L2 per image, none, L1, across the batch). Summing over the channels
    // instead of averaging gives the same normalised map, so it needs no choice of its own.
    static Tensor AttentionVariant(Tensor f, int[] c)
    {
        var a = c[0] switch { 0 => f.abs().pow(2), 1 => f.abs(), _ => f };
        var map = a.mean([1]).reshape(f.shape[0], -1);
        return c[1] switch
        {
            0 => F.normalize(map, p: 2, dim: 1),
            1 => map,
            2 => map.div(map.sum(1, keepdim: true)),
            _ => F.normalize(map, p: 2, dim: 0),
        };
    }

    // choices: error (square, abs, root of the mean square), reduction (mean, sum, half sum)
    static Tensor HintVariant(Tensor s, Tensor t, nn.Module<Tensor, Tensor> regressor, int[] c)
    {
        var difference = regressor.call(s).sub(t);
        var error = c[0] == 1 ? difference.abs() : difference.pow(2);
        var reduced = c[1] switch { 0 => error.mean(), 1 => error.sum(), _ => error.sum().mul(0.5) };
        return c[0] == 2 ? reduced.sqrt() : reduced;
    }

    static Tensor Features(ulong seed, int channels)
    {
        using var generator = new Generator(seed);
        return randn(Batch, channels, Side, Side, dtype: ScalarType.Float64, generator: generator);
    }

    /// <summary>A 1×1 convolution from the student's to the teacher's width, float64, seeded locally.</summary>
    static nn.Module<Tensor, Tensor> Regressor(ulong seed)
    {
        var conv = nn.Conv2d(Channels, TeacherChannels, kernel_size: 1, dtype: ScalarType.Float64);
        using var generator = new Generator(seed);
        using (no_grad())
            foreach (var p in conv.parameters())
                p.copy_(randn(p.shape, dtype: ScalarType.Float64, generator: generator).mul(0.5));
        return conv;
    }
}

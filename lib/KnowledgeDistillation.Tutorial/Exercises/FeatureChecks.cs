using KnowledgeDistillation.Losses;
using TorchSharp;
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
            return new CheckResult(false, $"Not yet: MyAttentionMap returned [{Batch}, {Side}, {Side}]; flatten each map to one row, [B, H·W] = [{Batch}, {Side * Side}], before normalising it (normalise the whole map, not each row of pixels).");
        if (shape.SequenceEqual([(long)Batch, Channels]))
            return new CheckResult(false, $"Not yet: MyAttentionMap returned [{Batch}, {Channels}], one value per channel: you averaged over the positions. An attention map averages over the channels (dimension 1) and keeps one value per position.");
        if (!shape.SequenceEqual([(long)Batch, Side * Side]))
            return new CheckResult(false, $"Not yet: MyAttentionMap returned [{string.Join(", ", shape)}]; for features [{Batch}, {Channels}, {Side}, {Side}] it should return [{Batch}, {Side * Side}]: one flattened map per image.");

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new("You used |f|, not |f|²: the paper's maps (and the library's default p = 2) square the activations, which stresses the most active positions."),
             new("You averaged the raw activations: positive and negative values cancel. Take |f|² (the absolute value squared) before averaging over the channels.")],
            [Choice.Right,
             new("The map is not normalised: divide each image's flattened map by its L2 norm (F.normalize(map, p: 2, dim: 1)), so that maps of layers with different scales can be compared."),
             new("You divided by the sum (an L1 normalisation); attention transfer divides by the L2 norm, ‖map‖₂."),
             new("You normalised across the batch (dimension 0) instead of per image: each image's map must have norm 1 on its own (dim: 1).")],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => AttentionVariant(f, c), value);
        return MistakeFinder.Verdict(explained, "each image's map is mean_c |f_c|², flattened and divided by its L2 norm.",
            "the values differ from the attention map. Square the absolute activations, average over the channels (dimension 1), flatten to [B, H·W], then F.normalize(map, p: 2, dim: 1).");
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
            return new CheckResult(false, failure.Message + $" (The student's features have {Channels} channels and the teacher's {TeacherChannels}: " +
                                          "the regressor maps the student's to the teacher's width, regressor.call(studentFeatures); it does not accept the teacher's.)");
        if (value!.numel() != 1)
            return new CheckResult(false, $"Not yet: MyHintLoss returned shape [{string.Join(", ", value.shape)}]; average the squared errors over every element to get one number.");

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new("You used the absolute error; the hint loss squares the difference, (r(s) − t)²."),
             new("You took the square root of the mean squared error (an RMS error); the hint loss is the mean squared error itself.")],
            [Choice.Right,
             new("You summed the squared errors; average them over every element (F.mse_loss's default), so that the weight of the term does not depend on the feature map's size."),
             new("You computed FitNets' ½‖u − r(v)‖² summed over the elements. The paper writes it that way, but the library (and RepDistiller) averages over every element; use the mean so that the default weight applies.")],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => HintVariant(s, t, regressor, c), value);
        var verdict = MistakeFinder.Verdict(explained, "the hint loss is mean((r(s) − t)²), with the regressor applied to the student.",
            $"MyHintLoss gave {value.item<double>():G6}, but the hint loss is {Reference(s, t).item<double>():G6}. Compute F.mse_loss(regressor.call(studentFeatures), teacherFeatures).");
        if (!verdict.Passed) return verdict;

        // Gradients: the student and the regressor learn; the teacher is a constant.
        var flow = MistakeFinder.GradientFlow((student, teacher) => myHintLoss(student, teacher, regressor), s, t, "MyHintLoss", "features",
            "the value is right but carries no gradient. Keep the computation in tensors, and do not detach the student's features.",
            "the value is right, but gradients flow into the teacher's features. Detach them (teacherFeatures.detach()): the teacher is frozen.",
            (regressor, "the value is right but the regressor gets no gradient; it must train together with the student."));
        if (flow is not null) return flow;
        return new CheckResult(true, verdict.Message + " The student and the regressor get gradients, the teacher none.");
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

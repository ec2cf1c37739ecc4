using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Losses;
using static KnowledgeDistillation.Exercises.LearnerCode;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 01 (soft and hard labels). Like every <c>XChecks</c> class of this
/// namespace, each <c>CheckY</c> takes the learner's function, runs it on fixed inputs, compares it with the library's
/// version, and returns a <see cref="CheckResult"/> whose message says what is wrong (wrong shape, rows that do not sum
/// to 1, 0 · log 0, …) or that the answer is right.
/// </summary>
public static class SoftLabelChecks
{
    /// <summary>
    /// Notebook 01: hard labels (硬標籤) as distributions. Checks <c>Tensor MyOneHot(Tensor y, int classes)</c>, which
    /// should return float one-hot rows [N, classes], as <see cref="SoftLabelStats.OneHot"/> does.
    /// </summary>
    public static CheckResult CheckOneHot(Func<Tensor, int, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        const int classes = 10;
        var y = tensor(new long[] { 3, 0, 7, 3, 5 }); // no 8 or 9, so that one_hot(y) without a class count comes out too narrow
        var copy = y.clone();
        if (Run("Your one-hot function", () => mine(y, classes), out var r) is { } failed) return failed;
        if (!Unchanged(y, copy)) return Fail("your function changed the labels y in place; build a new tensor instead.");
        var expected = SoftLabelStats.OneHot(y, classes);
        if (r.shape.SequenceEqual(new long[] { classes, y.shape[0] }))
            return Fail($"the result is {Shape(r)}, transposed: return one row per label, shape [{y.shape[0]}, {classes}].");
        if (r.dim() == 2 && r.shape[0] == y.shape[0] && r.shape[1] != classes)
            return Fail($"the result has {r.shape[1]} columns; it needs one per class, {classes}, even for classes that do not occur in y (for example with F.one_hot(y, classes)).");
        if (!r.shape.SequenceEqual(expected.shape))
            return Fail($"the result has shape {Shape(r)}; for {y.shape[0]} labels and {classes} classes it should be [{y.shape[0]}, {classes}].");
        if (!r.is_floating_point())
            return Fail($"the result has dtype {r.dtype}. A hard label is a probability distribution (1 for the true class, 0 elsewhere), and losses need floats: convert with .to_type(ScalarType.Float32).");
        if (Close(r, expected)) return Pass($"one row per label, {classes} columns, a 1.0 at each label and 0 elsewhere, as floats.");
        var shifted = F.one_hot(y.add(1).remainder(classes), classes);
        var shiftedDown = F.one_hot(y.sub(1).add(classes).remainder(classes), classes);
        if (Close(r, shifted) || Close(r, shiftedDown))
            return Fail("the 1s are one column off: label y goes in column y (labels count from 0).");
        for (int i = 0; i < y.shape[0]; i++)
            if (!Close(r[i], expected[i]))
                return Fail($"row {i} (label {y[i].item<long>()}) is {Row(r[i])}; expected a 1 in column {y[i].item<long>()} and 0 elsewhere.");
        return Fail($"the result differs from the one-hot labels by up to {MaxDiff(r, expected):G3}.");
    }

    /// <summary>
    /// Notebook 01: entropy. Checks <c>Tensor MyEntropy(Tensor p)</c>, which should return <c>H(p) = −Σ p log p</c> in nats
    /// for each row of p [N, C], shape [N], with <c>0 · log 0 = 0</c> (as <see cref="SoftTargets.Entropy"/>).
    /// </summary>
    public static CheckResult CheckEntropy(Func<Tensor, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        const int classes = 10;
        var p = stack([
            full(classes, 1.0f / classes),                                     // uniform: log 10
            F.one_hot(tensor(3L), classes).to_type(ScalarType.Float32),       // a hard label: 0
            cat([full(2, 0.5f), zeros(classes - 2)]),                          // two classes: log 2
            F.softmax(Logits(7, 1, classes)[0], 0),                           // a soft label
        ]);
        var copy = p.clone();
        if (Run("Your entropy function", () => mine(p), out var r) is { } failed) return failed;
        if (!Unchanged(p, copy)) return Fail("your function changed the probabilities in place (an operation ending in _, such as log_); compute new tensors instead.");
        var expected = SoftTargets.Entropy(p.to_type(ScalarType.Float64));
        long n = p.shape[0];
        if (r.numel() == 1)
        {
            double v = F64(r).item<double>();
            string what = Math.Abs(v - expected.sum().item<double>()) < 1e-4 ? " (the sum of all rows' entropies)"
                : Math.Abs(v - expected.mean().item<double>()) < 1e-4 ? " (the mean over the rows)" : "";
            return Fail($"you returned a single number{what}; return one entropy per distribution, shape [{n}]: sum over the last dimension only, p.sum(-1).");
        }
        if (r.shape.SequenceEqual(p.shape))
            return Fail($"you returned shape {Shape(r)}, the terms −p·log p; sum them over the classes (the last dimension) to get one entropy per row, shape [{n}].");
        if (!r.shape.SequenceEqual(new[] { n }))
            return Fail($"you returned shape {Shape(r)}; expected [{n}], one entropy per row of p.");
        if (Close(r, expected)) return Pass($"H(uniform over {classes}) = log {classes} = {Math.Log(classes):F4} nats, H(one-hot) = 0, H(two equal classes) = log 2, and a general soft label all match.");
        if (F64(r)[1].isnan().item<bool>())
            return Fail("the one-hot row gives NaN: 0 · log 0 is 0 · (−∞) = NaN in floating point. Entropy takes 0 · log 0 = 0: clamp p before the log, p.clamp_min(1e-12).log(), or replace the zeros' terms with where.");
        if (HasNonFinite(r))
            return Fail($"the result contains NaN or infinity: {Row(r)}.");
        if (Close(r, expected.neg()))
            return Fail("the sign is wrong: H(p) = −Σ p log p, which is ≥ 0 (log p ≤ 0 for probabilities).");
        if (Close(r, expected.div(Math.Log(2))))
            return Fail("these are bits (log base 2); this tutorial measures entropy in nats, with the natural logarithm, log().");
        if (Close(r, expected.div(Math.Log(10))))
            return Fail("this is log base 10; use the natural logarithm, log(), so that entropies are in nats.");
        if (Close(r, expected.div(classes)))
            return Fail("the values are 1/10 of the entropy: you averaged over the classes (mean); sum over them instead.");
        string[] rowNames = ["uniform", "one-hot", "two equal classes", "soft label"];
        for (int i = 0; i < n; i++)
            if (!Close(r[i], expected[i]))
                return Fail($"for the {rowNames[i]} row {Row(p[i])} you give {F64(r[i]).item<double>():F4}; expected {expected[i].item<double>():F4} nats.");
        return Fail($"the entropies differ by up to {MaxDiff(r, expected):G3} nats.");
    }

    /// <summary>
    /// Notebook 01: the class-similarity matrix. Checks <c>Tensor MyAverageSoftLabels(Tensor p, Tensor y)</c>, which should
    /// return the [C, C] matrix whose row c is the mean of the soft labels p [N, C] of the images with label c (as
    /// <see cref="SoftLabelStats.AverageSoftLabels"/>).
    /// </summary>
    public static CheckResult CheckAverageSoftLabels(Func<Tensor, Tensor, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        const int classes = 4;
        // Unequal class sizes (5, 3, 2, 2), so that dividing by the wrong count shows.
        var y = tensor(new long[] { 0, 1, 0, 2, 0, 1, 3, 0, 2, 1, 3, 0 });
        var p = F.softmax(Logits(11, (int)y.shape[0], classes, scale: 2.0), 1);
        var (pCopy, yCopy) = (p.clone(), y.clone());
        if (Run("Your function", () => mine(p, y), out var r) is { } failed) return failed;
        if (!Unchanged(p, pCopy) || !Unchanged(y, yCopy)) return Fail("your function changed its inputs in place; compute new tensors instead.");
        var expected = SoftLabelStats.AverageSoftLabels(p, y);
        if (!r.shape.SequenceEqual(expected.shape))
            return Fail($"the result has shape {Shape(r)}; with {classes} classes it should be [{classes}, {classes}]: one row per true class, one column per class of the soft label.");
        if (Close(r, expected)) return Pass("row c is the average soft label of the images of class c, for classes of 5, 3, 2 and 2 images.");
        var counts = bincount(y, minlength: classes).to_type(ScalarType.Float64).unsqueeze(1);
        var sums = expected.mul(counts);
        if (Close(r, expected.t()))
            return Fail("rows and columns are swapped: row c must be the average soft label of the images whose true class is c.");
        if (Close(r, sums))
            return Fail("each row is a sum, not an average: divide row c by the number of images of class c.");
        if (Close(r, sums.div(y.shape[0])))
            return Fail($"each row is divided by N = {y.shape[0]}, all the images; divide row c by the number of images of class c instead.");
        if (Close(r, F64(p).mean([0]).unsqueeze(0).expand(classes, classes)))
            return Fail("every row is the average soft label of all the images; average only the images with label c (select them with y.eq(c)).");
        if (Close(r, eye(classes, dtype: ScalarType.Float64)))
            return Fail("that is the average hard label, the identity matrix: average the soft labels p, not the one-hot labels.");
        var rowSums = F64(r).sum(1);
        if (!rowSums.allclose(ones(classes, dtype: ScalarType.Float64), Rtol, 1e-4))
            return Fail($"the rows should each sum to 1 (an average of distributions is a distribution); yours sum to {Row(rowSums)}.");
        for (int c = 0; c < classes; c++)
            if (!Close(r[c], expected[c]))
                return Fail($"row {c} is {Row(r[c])}; expected {Row(expected[c])}, the mean of the {counts[c, 0].item<double>():F0} soft labels with y = {c}.");
        return Fail($"the result differs by up to {MaxDiff(r, expected):G3}.");
    }
}

using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Training;
using Microsoft.Data.Analysis;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Analysis;

/// <summary>
/// How the temperature (溫度) T shapes soft labels and the distillation loss (蒸餾損失): probabilities and entropy
/// against T, the gradient's 1/T² scaling, the high-temperature limit (logit matching), and calibration at T ≠ 1.
/// </summary>
/// <remarks>Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015 (arXiv:1503.02531), sections 2 and 2.1.</remarks>
public static class TemperatureAnalysis
{
    /// <summary>The temperatures the tutorial shows: 0.5, 1, 2, 5, 10 and 20.</summary>
    public static IReadOnlyList<double> TutorialTemperatures { get; } = [0.5, 1, 2, 5, 10, 20];

    /// <summary><paramref name="count"/> values from <paramref name="from"/> to <paramref name="to"/>, equally spaced on a log scale.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Bounds not positive, or count &lt; 2.</exception>
    public static double[] LogSpace(double from, double to, int count)
    {
        if (!(from > 0) || !(to > 0)) throw new ArgumentOutOfRangeException(nameof(from), "Both bounds must be > 0.");
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 2.");
        double a = Math.Log(from), b = Math.Log(to);
        return [.. Enumerable.Range(0, count).Select(i => Math.Exp(a + (b - a) * i / (count - 1)))];
    }

    /// <summary>
    /// One row per class and one column per temperature: <c>softmax(logits / T)</c> in percent, for one logit vector [C].
    /// </summary>
    public static DataFrame ProbabilityTable(Tensor logits, IReadOnlyList<double>? temperatures = null, IReadOnlyList<string>? classNames = null)
    {
        CheckVector(logits);
        temperatures ??= TutorialTemperatures;
        classNames = SoftLabelStats.Names(classNames, (int)logits.shape[0]);
        var columns = new List<DataFrameColumn> { new StringDataFrameColumn("class", classNames) };
        foreach (var T in temperatures)
            columns.Add(new PrimitiveDataFrameColumn<double>($"T = {T:G4}", Probabilities(logits, T).Select(p => Math.Round(100 * p, 2))));
        return new DataFrame(columns);
    }

    /// <summary><c>softmax(logits / T)</c> of one logit vector [C], computed in float64.</summary>
    public static double[] Probabilities(Tensor logits, double T)
    {
        CheckVector(logits);
        using var scope = NewDisposeScope();
        return SoftTargets.Probabilities(logits.detach().cpu().to_type(ScalarType.Float64), T).data<double>().ToArray();
    }

    /// <summary>The entropy <c>H(softmax(logits / T))</c> in nats, for one logit vector [C], at each temperature.
    /// It rises from 0 (T → 0, the one-hot argmax) to <c>log C</c> (T → ∞, the uniform distribution).</summary>
    public static double[] Entropies(Tensor logits, IReadOnlyList<double> temperatures)
    {
        CheckVector(logits);
        ArgumentNullException.ThrowIfNull(temperatures);
        using var scope = NewDisposeScope();
        var z = logits.detach().cpu().to_type(ScalarType.Float64);
        return [.. temperatures.Select(T => SoftTargets.Entropy(SoftTargets.Probabilities(z, T)).item<double>())];
    }

    /// <summary>
    /// The gradient, with respect to the student's logits, of the soft loss <c>KL(p_T ‖ q_T)</c> averaged over the
    /// batch, multiplied by T² when <paramref name="timesTSquared"/> (as in <see cref="HintonKDLoss"/>) or not. Computed
    /// with autograd on a float64 copy; <paramref name="student"/> itself is not touched.
    /// </summary>
    /// <param name="student">Student logits z [B, C].</param>
    /// <param name="teacher">Teacher logits v [B, C].</param>
    /// <param name="T">The temperature.</param>
    /// <param name="timesTSquared">Whether the loss includes Hinton's T² factor.</param>
    /// <returns>float64 [B, C] on the student's device.</returns>
    public static Tensor SoftLossGradient(Tensor student, Tensor teacher, double T, bool timesTSquared = true)
    {
        using var scope = NewDisposeScope();
        var z = student.detach().to_type(ScalarType.Float64).requires_grad_(true);
        var v = teacher.detach().to_type(ScalarType.Float64);
        var loss = HintonKDLoss.SoftLoss(z, v, T);
        if (!timesTSquared) loss = loss.div(T * T);
        loss.backward();
        return z.grad!.detach().clone().MoveToOuterDisposeScope();
    }

    /// <summary>The slope of the least-squares line through (log x, log y): the exponent k of <c>y ∝ x^k</c>.</summary>
    /// <exception cref="ArgumentException">Fewer than two points, different lengths, or a value ≤ 0.</exception>
    public static double LogLogSlope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count || x.Count < 2) throw new ArgumentException($"Need two or more (x, y) pairs of equal count; got {x.Count} and {y.Count}.");
        if (x.Concat(y).Any(v => !(v > 0))) throw new ArgumentException("A log-log slope needs values > 0.");
        var lx = x.Select(v => Math.Log(v)).ToArray();
        var ly = y.Select(v => Math.Log(v)).ToArray();
        double mx = lx.Average(), my = ly.Average();
        double sxy = lx.Zip(ly, (a, b) => (a - mx) * (b - my)).Sum(), sxx = lx.Sum(a => (a - mx) * (a - mx));
        return sxy / sxx;
    }

    /// <summary>
    /// Hinton's high-temperature limit, numerically: for each T, the value and gradient of <c>T² · KL(p_T ‖ q_T)</c> against
    /// <see cref="LogitMatchingLoss"/> with <see cref="LogitMatching.HintonLimit"/>, <c>(1/2C) ‖(z − z̄) − (v − v̄)‖²</c>,
    /// and the relative gaps <c>|a − b| / |b|</c> (for gradients, of the Euclidean norms of the difference and of the
    /// logit-matching gradient). Both gaps shrink as T grows. Computed in float64.
    /// </summary>
    public static DataFrame HighTemperatureLimit(Tensor student, Tensor teacher, IReadOnlyList<double> temperatures)
    {
        ArgumentNullException.ThrowIfNull(temperatures);
        using var scope = NewDisposeScope();
        var z = student.detach().to_type(ScalarType.Float64).requires_grad_(true);
        var v = teacher.detach().to_type(ScalarType.Float64);
        using var matching = new LogitMatchingLoss(LogitMatching.HintonLimit);
        var target = matching.call(z, v);
        target.backward();
        var targetGradient = z.grad!.detach().clone();
        double targetValue = target.item<double>(), targetNorm = targetGradient.norm().item<double>();

        var kl = new List<double>();
        var valueGap = new List<double>();
        var gradientGap = new List<double>();
        foreach (var T in temperatures)
        {
            double value = HintonKDLoss.SoftLoss(z.detach(), v, T).item<double>();
            var gradient = SoftLossGradient(z, v, T);
            kl.Add(value);
            valueGap.Add(Math.Abs(value - targetValue) / Math.Abs(targetValue));
            gradientGap.Add(gradient.sub(targetGradient).norm().item<double>() / targetNorm);
        }
        return new DataFrame(
            new PrimitiveDataFrameColumn<double>("T", temperatures),
            new PrimitiveDataFrameColumn<double>("T²·KL", kl.Select(x => Math.Round(x, 6))),
            new PrimitiveDataFrameColumn<double>("logit matching", Enumerable.Repeat(Math.Round(targetValue, 6), temperatures.Count)),
            new PrimitiveDataFrameColumn<double>("value gap", valueGap.Select(x => Signif(x, 3))),
            new PrimitiveDataFrameColumn<double>("gradient gap", gradientGap.Select(x => Signif(x, 3))));
    }

    /// <summary>
    /// What happens if you keep the temperature at inference: accuracy, cross entropy, expected calibration error and
    /// mean confidence of <c>softmax(logits / T)</c> for each T. Accuracy does not change (the argmax of z / T is the
    /// argmax of z), but the probabilities do.
    /// </summary>
    /// <param name="logits">A model's logits [N, C].</param>
    /// <param name="labels">True classes, int64 [N].</param>
    /// <param name="temperatures">The temperatures to try.</param>
    public static DataFrame CalibrationByTemperature(Tensor logits, Tensor labels, IReadOnlyList<double> temperatures)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(temperatures);
        using var scope = NewDisposeScope();
        var rows = temperatures.Select(T =>
        {
            var scaled = logits.detach().div(T);
            var result = Evaluator.FromLogits(scaled, labels);
            double confidence = SoftTargets.Probabilities(scaled).max(1).values.to_type(ScalarType.Float64).mean().item<double>();
            return (T, result, confidence);
        }).ToList();
        return new DataFrame(
            new PrimitiveDataFrameColumn<double>("T", temperatures),
            new PrimitiveDataFrameColumn<double>("accuracy %", rows.Select(r => Math.Round(100 * r.result.Accuracy, 2))),
            new PrimitiveDataFrameColumn<double>("mean confidence %", rows.Select(r => Math.Round(100 * r.confidence, 2))),
            new PrimitiveDataFrameColumn<double>("cross entropy", rows.Select(r => Math.Round(r.result.Loss, 4))),
            new PrimitiveDataFrameColumn<double>("ECE %", rows.Select(r => Math.Round(100 * r.result.Ece, 2))));
    }

    static double Signif(double x, int digits) =>
        double.IsFinite(x) ? double.Parse(x.ToString("G" + digits, System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture) : x;

    static void CheckVector(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.dim() != 1) throw new ArgumentException($"Expected one logit vector [C]; got shape [{string.Join(", ", logits.shape)}]. Pick a row with logits[i].", nameof(logits));
    }
}

using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Training;

/// <summary>One confidence bin of a reliability diagram.</summary>
/// <param name="Index">The bin's index, 0 to bins − 1.</param>
/// <param name="Lower">The bin's lower edge (included).</param>
/// <param name="Upper">The bin's upper edge (excluded, except 1 in the last bin).</param>
/// <param name="Count">How many predictions fell in the bin.</param>
/// <param name="MeanConfidence">Their mean top-class probability; NaN for an empty bin.</param>
/// <param name="Accuracy">The fraction of them that were right; NaN for an empty bin.</param>
public sealed record ReliabilityBin(int Index, double Lower, double Upper, long Count, double MeanConfidence, double Accuracy)
{
    /// <summary>Accuracy − confidence: negative where the model is over-confident; NaN for an empty bin.</summary>
    public double Gap => Accuracy - MeanConfidence;
}

/// <summary>
/// The data of a reliability diagram (Guo et al., 2017): predictions grouped by their confidence, with each group's
/// accuracy. A perfectly calibrated model is right 80 % of the time when it says 80 %, so its bars lie on the diagonal.
/// </summary>
/// <param name="Bins">Every bin, empty ones included, in order.</param>
/// <param name="Total">The number of predictions.</param>
public sealed record ReliabilityData(IReadOnlyList<ReliabilityBin> Bins, long Total)
{
    /// <summary>The expected calibration error from the bins, <c>Σ_b (n_b / N) · |accuracy_b − confidence_b|</c>; equal
    /// (to rounding) to <see cref="Evaluator.ExpectedCalibrationError"/> on the same predictions.</summary>
    public double Ece => Bins.Where(b => b.Count > 0).Sum(b => (double)b.Count / Total * Math.Abs(b.Gap));

    /// <summary>The largest |accuracy − confidence| over the non-empty bins (the maximum calibration error, MCE).</summary>
    public double Mce => Bins.Where(b => b.Count > 0).Select(b => Math.Abs(b.Gap)).DefaultIfEmpty(0).Max();

    /// <summary>The mean confidence over all predictions.</summary>
    public double MeanConfidence => Bins.Where(b => b.Count > 0).Sum(b => b.Count * b.MeanConfidence) / Total;

    /// <summary>The accuracy over all predictions.</summary>
    public double Accuracy => Bins.Where(b => b.Count > 0).Sum(b => b.Count * b.Accuracy) / Total;

    /// <summary>The fraction of predictions, weighted by count, that sit in bins where accuracy is below confidence.</summary>
    public double OverconfidentShare => Bins.Where(b => b.Count > 0 && b.Gap < 0).Sum(b => (double)b.Count) / Total;
}

/// <summary>Reliability diagrams, binned exactly as <see cref="Evaluator"/> bins its expected calibration error.</summary>
public static class Calibration
{
    /// <summary>The reliability data of predictions with <paramref name="confidence"/> [N] (top-class probabilities)
    /// and <paramref name="correct"/> [N] (bool or 0/1).</summary>
    /// <exception cref="ArgumentException">The tensors are empty or of different lengths.</exception>
    public static ReliabilityData Reliability(Tensor confidence, Tensor correct, int bins = Evaluator.CalibrationBins)
    {
        ArgumentNullException.ThrowIfNull(confidence);
        ArgumentNullException.ThrowIfNull(correct);
        if (confidence.numel() == 0) throw new ArgumentException("No predictions.", nameof(confidence));
        if (confidence.numel() != correct.numel())
            throw new ArgumentException($"{confidence.numel()} confidences but {correct.numel()} correctness values.", nameof(correct));
        using var scope = NewDisposeScope();
        // Binned on the confidences' device; only the bins' counts and sums (3 × bins numbers) come to the host.
        var c = confidence.reshape(-1).to_type(ScalarType.Float64);
        var bin = Evaluator.CalibrationBin(c, bins);
        var sums = stack([
            bincount(bin, minlength: bins).to_type(ScalarType.Float64), // counts, exact below 2^53
            bincount(bin, c, minlength: bins),
            bincount(bin, correct.reshape(-1).to(c.device).to_type(ScalarType.Float64), minlength: bins),
        ]).cpu().data<double>().ToArray();
        var result = new ReliabilityBin[bins];
        for (int b = 0; b < bins; b++)
        {
            long count = (long)sums[b];
            double confidenceSum = sums[bins + b], correctSum = sums[2 * bins + b];
            result[b] = new ReliabilityBin(b, (double)b / bins, (double)(b + 1) / bins, count,
                count > 0 ? confidenceSum / count : double.NaN,
                count > 0 ? correctSum / count : double.NaN);
        }
        return new ReliabilityData(result, c.shape[0]);
    }

    /// <summary>The reliability data of a classifier's <paramref name="logits"/> [N, C] against <paramref name="labels"/> [N]:
    /// confidence is the softmax's top probability, and a prediction is correct when its arg-max is the label.</summary>
    public static ReliabilityData FromLogits(Tensor logits, Tensor labels, int bins = Evaluator.CalibrationBins)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = NewDisposeScope();
        var (confidence, predicted) = F.softmax(logits, 1).max(1); // as Evaluator.FromLogits, so that the ECEs agree
        return Reliability(confidence, predicted.eq(labels.to(predicted.device)), bins);
    }
}

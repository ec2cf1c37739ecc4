using KnowledgeDistillation.Data;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Training;

/// <summary>A model's performance on a labelled set.</summary>
/// <param name="Accuracy">Fraction classified correctly, 0 to 1.</param>
/// <param name="Loss">Mean cross entropy.</param>
/// <param name="Ece">Expected calibration error with <see cref="Evaluator.CalibrationBins"/> equal-width confidence bins.</param>
/// <param name="Confusion">Counts [true class, predicted class].</param>
/// <param name="Count">How many images.</param>
public sealed record EvaluationResult(double Accuracy, double Loss, double Ece, long[,] Confusion, int Count);

/// <summary>Evaluates classifiers in evaluation mode, without gradients, batch by batch on the data's device.</summary>
public static class Evaluator
{
    /// <summary>Images per forward pass when none is given: 256, as <see cref="TrainingOptions.EvaluationBatchSize"/>
    /// (larger batches left a large activation in the allocator between epochs; README, "The kd tool").</summary>
    public const int DefaultBatchSize = 256;

    /// <summary>The number of confidence bins of the expected calibration error (15, as in Guo et al., 2017).</summary>
    public const int CalibrationBins = 15;

    /// <summary>Accuracy, cross entropy, ECE and the confusion matrix of <paramref name="model"/> on <paramref name="data"/>.</summary>
    /// <remarks>
    /// ECE: C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger, "On Calibration of Modern Neural Networks", ICML 2017:
    /// <c>Σ_b (n_b / N) · |accuracy_b − confidence_b|</c> over bins of the top-class probability.
    /// The model is left in evaluation mode.
    /// </remarks>
    public static EvaluationResult Evaluate(nn.Module<Tensor, Tensor> model, LabelledImages data, int batchSize = DefaultBatchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        using var scope = NewDisposeScope();
        using var logits = Logits(model, data.Images, batchSize);
        return FromLogits(logits, data.Labels);
    }

    /// <summary>The model's logits for every image, in evaluation mode, without gradients, on the images' device.</summary>
    public static Tensor Logits(nn.Module<Tensor, Tensor> model, Tensor images, int batchSize = DefaultBatchSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long n = images.shape[0];
        var parts = new List<Tensor>();
        for (long start = 0; start < n; start += batchSize)
            parts.Add(model.call(images.narrow(0, start, Math.Min(batchSize, n - start))));
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>The metrics from logits [N, C] and labels [N].</summary>
    /// <remarks>Everything is computed on the logits' device; the loss, accuracy, ECE and confusion counts then come to
    /// the host together, in one transfer.</remarks>
    public static EvaluationResult FromLogits(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long n = labels.shape[0], classes = logits.shape[1];
        if (n == 0) throw new ArgumentException("Cannot evaluate on an empty set.", nameof(labels));
        var y = labels.to(logits.device);
        var loss = F.cross_entropy(logits, y).to_type(ScalarType.Float64);
        var probabilities = F.softmax(logits, 1);
        var (confidence, predicted) = probabilities.max(1);
        var correct = predicted.eq(y);
        var accuracy = correct.to_type(ScalarType.Float64).mean();
        var ece = CalibrationError(confidence, correct, CalibrationBins);
        // Counts as float64 are exact below 2^53.
        var confusion = bincount(y.mul(classes).add(predicted), minlength: (int)(classes * classes)).to_type(ScalarType.Float64);
        var host = cat([loss.reshape(1), accuracy.reshape(1), ece.reshape(1), confusion], 0).cpu().data<double>().ToArray();

        var matrix = new long[classes, classes];
        for (int i = 0; i < classes; i++)
            for (int j = 0; j < classes; j++)
                matrix[i, j] = (long)host[3 + i * classes + j];
        return new EvaluationResult(host[1], host[0], host[2], matrix, (int)n);
    }

    /// <summary>ECE from each prediction's confidence [N] and whether it was right [N].</summary>
    public static double ExpectedCalibrationError(Tensor confidence, Tensor correct, int bins = CalibrationBins)
    {
        using var scope = NewDisposeScope();
        return CalibrationError(confidence, correct, bins).item<double>();
    }

    /// <summary>ECE as a float64 scalar on the inputs' device.</summary>
    static Tensor CalibrationError(Tensor confidence, Tensor correct, int bins)
    {
        using var scope = NewDisposeScope();
        var c = confidence.to_type(ScalarType.Float64);
        var bin = CalibrationBin(c, bins);
        var confidenceSums = bincount(bin, c, minlength: bins);
        var correctSums = bincount(bin, correct.to_type(ScalarType.Float64), minlength: bins);
        return correctSums.sub(confidenceSums).abs().sum().div(c.shape[0]).MoveToOuterDisposeScope();
    }

    /// <summary>The bin of each confidence among <paramref name="bins"/> equal-width bins of [0, 1]:
    /// <c>floor(confidence · bins)</c>, with a confidence of exactly 1 in the last bin. Bin b holds [b/bins, (b+1)/bins).</summary>
    internal static Tensor CalibrationBin(Tensor confidence, int bins)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "bins must be at least 1.");
        return confidence.to_type(ScalarType.Float64).mul(bins).floor().clamp(0, bins - 1).to_type(ScalarType.Int64);
    }
}

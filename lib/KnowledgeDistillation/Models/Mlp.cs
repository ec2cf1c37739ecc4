using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// A multilayer perceptron: flatten, optional input dropout, then for each hidden layer Linear → ReLU → dropout, and a
/// linear classifier. The features are the hidden activations (after ReLU, before dropout), so the last one is the
/// penultimate embedding.
/// </summary>
/// <remarks>
/// The factories are the nets of G. Hinton, O. Vinyals and J. Dean, "Distilling the Knowledge in a Neural Network",
/// NIPS 2014 Deep Learning Workshop (arXiv:1503.02531), section 3 (MNIST), plus a tiny student.
/// </remarks>
public sealed class Mlp : FeatureModel
{
    readonly Dropout inputDropout;
    readonly ModuleList<Linear> hidden;
    readonly ReLU relu;
    readonly Dropout hiddenDropout;
    readonly Linear classifier;
    readonly FeatureInfo[] features;
    readonly long[] hiddenSizes;

    /// <summary>Creates an MLP.</summary>
    /// <param name="inputSize">Input features per sample (784 for 28×28 images); inputs are flattened from dimension 1.</param>
    /// <param name="hiddenSizes">The widths of the hidden layers, at least one.</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <param name="inputDropout">Dropout probability on the input, in [0, 1).</param>
    /// <param name="hiddenDropout">Dropout probability after each hidden layer, in [0, 1).</param>
    /// <param name="name">The module's name.</param>
    public Mlp(long inputSize, IReadOnlyList<long> hiddenSizes, int numClasses = 10,
        double inputDropout = 0.0, double hiddenDropout = 0.0, string name = nameof(Mlp)) : base(name)
    {
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        if (inputSize <= 0) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "inputSize must be positive.");
        if (hiddenSizes.Count == 0)
            throw new ArgumentException("An MLP needs at least one hidden layer: its last hidden activation is the embedding feature.", nameof(hiddenSizes));
        if (hiddenSizes.Any(h => h <= 0)) throw new ArgumentException("Hidden widths must be positive.", nameof(hiddenSizes));
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be positive.");
        CheckProbability(inputDropout, nameof(inputDropout));
        CheckProbability(hiddenDropout, nameof(hiddenDropout));

        InputSize = inputSize;
        NumClasses = numClasses;
        InputDropout = inputDropout;
        HiddenDropout = hiddenDropout;
        this.hiddenSizes = [.. hiddenSizes];
        features = [.. this.hiddenSizes.Select((h, i) => new FeatureInfo($"hidden{i + 1}", [h]))];

        this.inputDropout = nn.Dropout(inputDropout);
        hidden = nn.ModuleList(this.hiddenSizes.Select((h, i) => nn.Linear(i == 0 ? inputSize : this.hiddenSizes[i - 1], h)).ToArray());
        relu = nn.ReLU();
        this.hiddenDropout = nn.Dropout(hiddenDropout);
        classifier = nn.Linear(this.hiddenSizes[^1], numClasses);
        RegisterComponents();
    }

    /// <summary>
    /// Hinton et al.'s teacher, 784-1200-1200-10 with dropout 0.2 on the input and 0.5 on the hidden units.
    /// </summary>
    /// <remarks>
    /// Hinton, Vinyals and Dean (arXiv:1503.02531), section 3: "a single large neural net with two hidden layers of 1200
    /// rectified linear hidden units ... strongly regularized using dropout and weight-constraints as described in [5]".
    /// Their reference [5], Hinton et al., "Improving neural networks by preventing co-adaptation of feature detectors"
    /// (arXiv:1207.0580), drops 20% of the inputs and 50% of the hidden units; those are the rates used here. The
    /// weight constraints and the input jitter of the paper are left out.
    /// </remarks>
    public static Mlp HintonTeacher() =>
        new(784, [1200, 1200], 10, inputDropout: 0.2, hiddenDropout: 0.5, name: nameof(HintonTeacher));

    /// <summary>Hinton et al.'s student, 784-800-800-10 with no regularisation (arXiv:1503.02531, section 3).</summary>
    public static Mlp HintonStudent() => new(784, [800, 800], 10, name: nameof(HintonStudent));

    /// <summary>A tiny student, 784-32-10, no dropout: small enough that the teacher's help shows.</summary>
    public static Mlp TinyStudent() => new(784, [32], 10, name: nameof(TinyStudent));

    /// <summary>Input features per sample.</summary>
    public long InputSize { get; }

    /// <summary>The hidden widths.</summary>
    public IReadOnlyList<long> HiddenSizes => hiddenSizes;

    /// <summary>Dropout probability on the input.</summary>
    public double InputDropout { get; }

    /// <summary>Dropout probability after each hidden layer.</summary>
    public double HiddenDropout { get; }

    /// <inheritdoc/>
    public override int NumClasses { get; }

    /// <summary>One feature per hidden layer, <c>hidden1 [h1]</c>, <c>hidden2 [h2]</c>, ...: the activations after ReLU.</summary>
    public override IReadOnlyList<FeatureInfo> Features => features;

    /// <summary>The logits [B, classes] of a batch [B, ...] with <see cref="InputSize"/> elements per sample.</summary>
    public override Tensor forward(Tensor input) => FeatureForward.Logits(Run, input);

    /// <inheritdoc/>
    public override ModelOutput forward_features(Tensor input) => FeatureForward.WithFeatures(Run, input, features);


    /// <summary>The linear layers' FLOPs: <c>Σ 2 · in · out</c>.</summary>
    public override long FlopsPerSample()
    {
        long flops = 0, width = InputSize;
        foreach (var h in hiddenSizes)
        {
            flops += Flops.Linear(width, h);
            width = h;
        }
        return flops + Flops.Linear(width, NumClasses);
    }

    Tensor Run(Tensor input, List<Tensor>? features)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() < 2 || input.shape.Skip(1).Aggregate(1L, (a, b) => a * b) != InputSize)
            throw new ArgumentException(
                $"{GetName()} expects [B, ...] with {InputSize} elements per sample; got [{string.Join(", ", input.shape)}].", nameof(input));
        var x = inputDropout.call(input.flatten(1));
        foreach (var layer in hidden)
        {
            var h = relu.call(layer.call(x));
            features?.Add(h);
            x = hiddenDropout.call(h);
        }
        return classifier.call(x);
    }

    static void CheckProbability(double p, string name)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(name, p, $"{name} must be in [0, 1); got {p}.");
    }
}

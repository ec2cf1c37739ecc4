using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// A small convolutional net for 28×28 grey images: two blocks conv3×3 → batch norm → ReLU → max-pool 2, then
/// Linear → ReLU → dropout and a linear classifier.
/// </summary>
/// <remarks>
/// <para>Features: the output of each block, [c1, 14, 14] and [c2, 7, 7], then the hidden vector [h] (after ReLU, before
/// dropout), which is the penultimate embedding. Teacher and student differ only in widths, so their features pair by
/// index at equal spatial sizes: FitNets needs only a 1×1 regressor (8→32, 16→64), and attention maps compare directly.</para>
/// <para>The convolutions have no bias, since the batch norm after each one has its own shift.</para>
/// </remarks>
public sealed class SmallCnn : FeatureModel
{
    /// <summary>The input's side length.</summary>
    public const int ImageSize = 28;

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu1;
    readonly MaxPool2d pool1;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly ReLU relu2;
    readonly MaxPool2d pool2;
    readonly Flatten flatten;
    readonly Linear fc;
    readonly ReLU relu3;
    readonly Dropout dropout;
    readonly Linear classifier;
    readonly FeatureInfo[] features;

    /// <summary>Creates the net.</summary>
    /// <param name="channels1">Channels of the first block.</param>
    /// <param name="channels2">Channels of the second block.</param>
    /// <param name="hidden">Width of the hidden linear layer (the embedding).</param>
    /// <param name="hiddenDropout">Dropout probability after the hidden layer, in [0, 1).</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <param name="name">The module's name.</param>
    public SmallCnn(long channels1, long channels2, long hidden, double hiddenDropout = 0.0, int numClasses = 10, string name = nameof(SmallCnn))
        : base(name)
    {
        if (channels1 <= 0) throw new ArgumentOutOfRangeException(nameof(channels1), channels1, "channels1 must be positive.");
        if (channels2 <= 0) throw new ArgumentOutOfRangeException(nameof(channels2), channels2, "channels2 must be positive.");
        if (hidden <= 0) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, "hidden must be positive.");
        if (!(hiddenDropout >= 0 && hiddenDropout < 1))
            throw new ArgumentOutOfRangeException(nameof(hiddenDropout), hiddenDropout, "hiddenDropout must be in [0, 1).");
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be positive.");
        Channels1 = channels1;
        Channels2 = channels2;
        Hidden = hidden;
        HiddenDropout = hiddenDropout;
        NumClasses = numClasses;
        features =
        [
            new("block1", [channels1, ImageSize / 2, ImageSize / 2]),
            new("block2", [channels2, ImageSize / 4, ImageSize / 4]),
            new("embedding", [hidden]),
        ];

        conv1 = nn.Conv2d(1, channels1, kernel_size: 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(channels1);
        relu1 = nn.ReLU();
        pool1 = nn.MaxPool2d(2);
        conv2 = nn.Conv2d(channels1, channels2, kernel_size: 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(channels2);
        relu2 = nn.ReLU();
        pool2 = nn.MaxPool2d(2);
        flatten = nn.Flatten();
        fc = nn.Linear(channels2 * (ImageSize / 4) * (ImageSize / 4), hidden);
        relu3 = nn.ReLU();
        dropout = nn.Dropout(hiddenDropout);
        classifier = nn.Linear(hidden, numClasses);
        RegisterComponents();
    }

    /// <summary>The teacher: 32 and 64 channels, a 320-wide hidden layer, dropout 0.3; 1,025,962 parameters.</summary>
    public static SmallCnn Teacher() => new(32, 64, 320, hiddenDropout: 0.3, name: "SmallCnnTeacher");

    /// <summary>
    /// The student: the teacher's layout with 8 and 16 channels and a 128-wide hidden layer; 103,042 parameters, about
    /// 10× fewer than the teacher.
    /// </summary>
    /// <param name="hiddenDropout">Dropout after the hidden layer; none by default, so that distillation is the only regulariser.</param>
    public static SmallCnn Student(double hiddenDropout = 0.0) => new(8, 16, 128, hiddenDropout, name: "SmallCnnStudent");

    /// <summary>Channels of the first block.</summary>
    public long Channels1 { get; }

    /// <summary>Channels of the second block.</summary>
    public long Channels2 { get; }

    /// <summary>Width of the hidden layer.</summary>
    public long Hidden { get; }

    /// <summary>Dropout probability after the hidden layer.</summary>
    public double HiddenDropout { get; }

    /// <inheritdoc/>
    public override int NumClasses { get; }

    /// <summary><c>block1 [c1, 14, 14]</c>, <c>block2 [c2, 7, 7]</c>, <c>embedding [h]</c>.</summary>
    public override IReadOnlyList<FeatureInfo> Features => features;

    /// <summary>The logits [B, classes] of images [B, 1, 28, 28].</summary>
    public override Tensor forward(Tensor input) => FeatureForward.Logits(Run, input);

    /// <inheritdoc/>
    public override ModelOutput forward_features(Tensor input) => FeatureForward.WithFeatures(Run, input, features);


    /// <summary>Two convolutions (at 28×28 and at 14×14) and two linear layers.</summary>
    public override long FlopsPerSample() =>
        Flops.Conv2d(1, Channels1, 3, ImageSize, ImageSize)
        + Flops.Conv2d(Channels1, Channels2, 3, ImageSize / 2, ImageSize / 2)
        + Flops.Linear(Channels2 * (ImageSize / 4) * (ImageSize / 4), Hidden)
        + Flops.Linear(Hidden, NumClasses);

    Tensor Run(Tensor input, List<Tensor>? features)
    {
        FeatureForward.CheckImages(input, 1, ImageSize, GetName());
        var x = Block(conv1, bn1, pool1, relu1, input);
        features?.Add(x);
        x = Block(conv2, bn2, pool2, relu2, x);
        features?.Add(x);
        var h = relu3.call(fc.call(flatten.call(x)));
        features?.Add(h);
        return classifier.call(dropout.call(h));
    }

    /// <summary>
    /// conv → batch norm → ReLU → max-pool, computed as conv → batch norm → max-pool → ReLU: the same values and the same
    /// gradients, bit for bit (ReLU is monotone, so it commutes with the maximum; where a window's maximum is not
    /// positive both orders pass no gradient), with ReLU on a quarter of the values. Without gradients (evaluation, the
    /// teacher's cached outputs) the pooling reads a channels-last copy of its input, where libtorch's max-pooling is
    /// vectorised over the channels: a whole forward pass of the student's layers took 1.4–1.7× less time in an
    /// interleaved A/B (the same maxima; with gradients the copies cost more than they save, so training keeps the
    /// plain layout).
    /// </summary>
    static Tensor Block(Conv2d conv, BatchNorm2d bn, MaxPool2d pool, ReLU relu, Tensor x)
    {
        var h = bn.call(conv.call(x));
        h = is_grad_enabled() ? pool.call(h) : pool.call(h.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)).contiguous();
        return relu.call(h);
    }
}

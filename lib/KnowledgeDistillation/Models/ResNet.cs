using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// A ResNet for 28×28 grey images in the style of the CIFAR ResNets of He et al.: a 3×3 stem, stages of basic blocks
/// whose width doubles and resolution halves from stage to stage, global average pooling and a linear classifier.
/// </summary>
/// <remarks>
/// <para>K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
/// (arXiv:1512.03385), section 4.2: 6n + 2 layers, here with one input channel. A basic block is
/// conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU. The shortcut is the identity, or a 1×1 convolution
/// with stride and BN where the shape changes (the paper's option B). Convolutions have no bias.</para>
/// <para>Features: the output of each stage, then the pooled embedding. It is the heaviest model here, meant for the
/// GPU, but it runs on the CPU too.</para>
/// </remarks>
public sealed class ResNet : FeatureModel
{
    /// <summary>The input's side length.</summary>
    public const int ImageSize = 28;

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu;
    readonly ModuleList<Sequential> stages;
    readonly AdaptiveAvgPool2d pool;
    readonly Flatten flatten;
    readonly Linear classifier;
    readonly FeatureInfo[] features;
    readonly long[] widths;

    /// <summary>Creates the net.</summary>
    /// <param name="blocksPerStage">Basic blocks per stage (n; the depth is 6n + 2 for three stages).</param>
    /// <param name="widths">Channels per stage; every stage after the first halves the resolution.</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <param name="name">The module's name.</param>
    public ResNet(int blocksPerStage, IReadOnlyList<long> widths, int numClasses = 10, string name = nameof(ResNet)) : base(name)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (blocksPerStage <= 0) throw new ArgumentOutOfRangeException(nameof(blocksPerStage), blocksPerStage, "blocksPerStage must be positive.");
        if (widths.Count == 0 || widths.Any(w => w <= 0)) throw new ArgumentException("widths needs at least one stage, all positive.", nameof(widths));
        if (numClasses <= 0) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be positive.");
        BlocksPerStage = blocksPerStage;
        this.widths = [.. widths];
        NumClasses = numClasses;
        features =
        [
            .. this.widths.Select((w, i) => new FeatureInfo($"stage{i + 1}", [w, StageSize(i), StageSize(i)])),
            new FeatureInfo("embedding", [this.widths[^1]]),
        ];

        conv1 = nn.Conv2d(1, this.widths[0], kernel_size: 3, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(this.widths[0]);
        relu = nn.ReLU();
        stages = nn.ModuleList(this.widths.Select((w, i) => Stage(i == 0 ? w : this.widths[i - 1], w, i == 0 ? 1 : 2, blocksPerStage)).ToArray());
        pool = nn.AdaptiveAvgPool2d(1);
        flatten = nn.Flatten();
        classifier = nn.Linear(this.widths[^1], numClasses);
        RegisterComponents();
    }

    /// <summary>ResNet-20: 3 stages of 3 basic blocks with 16, 32 and 64 channels; 272,186 parameters.</summary>
    public static ResNet ResNet20() => new(3, [16, 32, 64], 10, name: nameof(ResNet20));

    /// <summary>Basic blocks per stage.</summary>
    public int BlocksPerStage { get; }

    /// <summary>Channels per stage.</summary>
    public IReadOnlyList<long> Widths => widths;

    /// <inheritdoc/>
    public override int NumClasses { get; }

    /// <summary>
    /// <c>stage1 [w1, 28, 28]</c>, <c>stage2 [w2, 14, 14]</c>, <c>stage3 [w3, 7, 7]</c>, ..., then <c>embedding [w_last]</c>.
    /// </summary>
    public override IReadOnlyList<FeatureInfo> Features => features;

    /// <summary>The logits [B, classes] of images [B, 1, 28, 28].</summary>
    public override Tensor forward(Tensor input) => FeatureForward.Logits(Run, input);

    /// <inheritdoc/>
    public override ModelOutput forward_features(Tensor input) => FeatureForward.WithFeatures(Run, input, features);


    /// <summary>The stem, every block's two convolutions and projection shortcut, and the classifier.</summary>
    public override long FlopsPerSample()
    {
        long flops = Flops.Conv2d(1, widths[0], 3, ImageSize, ImageSize);
        for (int i = 0; i < widths.Length; i++)
        {
            long cin = i == 0 ? widths[0] : widths[i - 1], cout = widths[i], size = StageSize(i);
            for (int b = 0; b < BlocksPerStage; b++)
            {
                long blockIn = b == 0 ? cin : cout;
                flops += Flops.Conv2d(blockIn, cout, 3, size, size) + Flops.Conv2d(cout, cout, 3, size, size);
                if (b == 0 && (i > 0 || cin != cout)) flops += Flops.Conv2d(blockIn, cout, 1, size, size);
            }
        }
        return flops + Flops.Linear(widths[^1], NumClasses);
    }

    /// <summary>The side of stage <paramref name="i"/>'s output: a 3×3 convolution with padding 1 and stride 2 maps s to ⌈s / 2⌉.</summary>
    static long StageSize(int i)
    {
        long size = ImageSize;
        for (int k = 0; k < i; k++) size = (size + 1) / 2;
        return size;
    }

    static Sequential Stage(long cin, long cout, long stride, int blocks) =>
        nn.Sequential(Enumerable.Range(0, blocks)
            .Select(b => (nn.Module<Tensor, Tensor>)new BasicBlock(b == 0 ? cin : cout, cout, b == 0 ? stride : 1)));

    Tensor Run(Tensor input, List<Tensor>? features)
    {
        FeatureForward.CheckImages(input, 1, ImageSize, GetName());
        var x = relu.call(bn1.call(conv1.call(input)));
        foreach (var stage in stages)
        {
            x = stage.call(x);
            features?.Add(x);
        }
        var embedding = flatten.call(pool.call(x));
        features?.Add(embedding);
        return classifier.call(embedding);
    }
}

/// <summary>A residual basic block: conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU.</summary>
sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu1;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly Sequential? shortcut;
    readonly ReLU relu2;

    /// <summary>Creates the block; the shortcut is a strided 1×1 convolution with BN where the shape changes.</summary>
    public BasicBlock(long cin, long cout, long stride) : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(cin, cout, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(cout);
        relu1 = nn.ReLU();
        conv2 = nn.Conv2d(cout, cout, kernel_size: 3, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(cout);
        shortcut = stride != 1 || cin != cout
            ? nn.Sequential(nn.Conv2d(cin, cout, kernel_size: 1, stride: stride, bias: false), nn.BatchNorm2d(cout))
            : null;
        relu2 = nn.ReLU();
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var residual = bn2.call(conv2.call(relu1.call(bn1.call(conv1.call(input)))));
        var skip = shortcut is null ? input : shortcut.call(input);
        return relu2.call(residual.add(skip)).MoveToOuterDisposeScope();
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// A classifier that can return its intermediate features together with its logits, so that feature-based distillation
/// (FitNets, attention transfer, RKD, PKT, ...) can read them without hooks.
/// </summary>
/// <remarks>
/// <para>This is RepDistiller's <c>forward(x, is_feat=True)</c>, which returns <c>(features, logits)</c>. The features come
/// in the order of <see cref="Features"/>, from the input side to the output side.</para>
/// <para>The last feature of every model is the penultimate embedding, the vector the classifier reads, so relation
/// losses (RKD, PKT) can use index <c>Features.Count - 1</c> for any model.</para>
/// </remarks>
public abstract class FeatureModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module with its <paramref name="name"/>.</summary>
    protected FeatureModel(string name) : base(name)
    {
    }

    /// <summary>Runs the model on <paramref name="input"/> [B, channels, height, width] and returns its features and logits.</summary>
    /// <remarks>The logits equal those of <c>forward(input)</c> (exactly so in evaluation mode, where dropout is off).</remarks>
    public abstract ModelOutput forward_features(Tensor input);

    /// <summary>Names and per-sample shapes of the features <see cref="forward_features"/> returns, in the same order.</summary>
    public abstract IReadOnlyList<FeatureInfo> Features { get; }

    /// <summary>The number of classes, the width of the logits.</summary>
    public abstract int NumClasses { get; }

    /// <summary>The number of parameter elements (weights, biases, batch-norm scales and shifts; not running statistics).</summary>
    public long ParameterCount() => ModelSize.ParameterCount(this);

    /// <summary>Forward FLOPs for one sample, counted analytically; see <see cref="ModelSize"/> for what is counted.</summary>
    public abstract long FlopsPerSample();
}

/// <summary>What <see cref="FeatureModel.forward_features"/> returns.</summary>
/// <param name="Features">The intermediate features [B, ...], in the order of <see cref="FeatureModel.Features"/>.</param>
/// <param name="Logits">The logits [B, classes].</param>
public sealed record ModelOutput(IReadOnlyList<Tensor> Features, Tensor Logits);

/// <summary>Describes one feature of an <see cref="FeatureModel"/>.</summary>
/// <param name="Name">A short name, such as <c>"stage2"</c> or <c>"embedding"</c>.</param>
/// <param name="Shape">The shape of one sample's feature, without the batch dimension: [C, H, W] for a feature map,
/// [D] for a vector.</param>
public sealed record FeatureInfo(string Name, IReadOnlyList<long> Shape)
{
    /// <summary>True for a feature map [C, H, W], false for a vector [D].</summary>
    public bool IsSpatial => Shape.Count == 3;

    /// <summary>The channels of a feature map, or the width of a vector: <c>Shape[0]</c>.</summary>
    public long Channels => Shape[0];

    /// <summary>The number of elements per sample.</summary>
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Two descriptions are equal when name and shape are (the shape is compared element by element).</summary>
    public bool Equals(FeatureInfo? other) =>
        other is not null && Name == other.Name && Shape.SequenceEqual(other.Shape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Name);
        foreach (var d in Shape) hash.Add(d);
        return hash.ToHashCode();
    }

    /// <summary>For example <c>conv1 [32, 14, 14]</c>.</summary>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}

using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>
/// The two ways to run a model's forward pass, written once. A model's pass is a function
/// <c>run(input, features)</c> that appends each feature to <c>features</c> when it is not null and returns the logits.
/// </summary>
static class FeatureForward
{
    /// <summary>Logits only; the intermediate tensors are disposed.</summary>
    public static Tensor Logits(Func<Tensor, List<Tensor>?, Tensor> run, Tensor input)
    {
        using var scope = NewDisposeScope();
        return run(input, null).MoveToOuterDisposeScope();
    }

    /// <summary>Features and logits, moved to the caller's scope; the other intermediate tensors are disposed.</summary>
    public static ModelOutput WithFeatures(Func<Tensor, List<Tensor>?, Tensor> run, Tensor input, IReadOnlyList<FeatureInfo> declared)
    {
        using var scope = NewDisposeScope();
        var features = new List<Tensor>(declared.Count);
        var logits = run(input, features);
        if (features.Count != declared.Count)
            throw new InvalidOperationException($"The model produced {features.Count} features but declares {declared.Count}.");
        foreach (var f in features) f.MoveToOuterDisposeScope();
        return new ModelOutput(features, logits.MoveToOuterDisposeScope());
    }

    /// <summary>Checks that <paramref name="input"/> is a batch of images [B, channels, size, size].</summary>
    public static void CheckImages(Tensor input, long channels, long size, string model)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 4 || input.shape[1] != channels || input.shape[2] != size || input.shape[3] != size)
            throw new ArgumentException(
                $"{model} expects images [B, {channels}, {size}, {size}]; got [{string.Join(", ", input.shape)}].", nameof(input));
    }
}

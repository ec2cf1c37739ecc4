using KnowledgeDistillation.Models;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// The teacher's logits, and the features the objective needs, for every training image, computed once in evaluation
/// mode and kept on the device. Without data augmentation the teacher's outputs never change, so reusing them is exact
/// and saves the teacher's forward pass in every epoch.
/// </summary>
/// <remarks>Memory: N × (classes + the needed features' sizes) floats; a [64, 7, 7] feature for 60,000 images is 750 MB.</remarks>
public sealed class TeacherOutputs : IDisposable
{
    readonly Tensor logits;
    readonly Tensor?[] features;

    TeacherOutputs(Tensor logits, Tensor?[] features)
    {
        this.logits = logits;
        this.features = features;
    }

    /// <summary>Runs <paramref name="teacher"/> over <paramref name="images"/> once, in evaluation mode under
    /// <c>no_grad</c>, and keeps its logits and the features at <paramref name="featureIndices"/> (positions in
    /// <see cref="FeatureModel.Features"/>; empty for logits only).</summary>
    /// <param name="teacher">The frozen teacher; an <see cref="FeatureModel"/> when features are asked for.</param>
    /// <param name="images">The training images, on the device the run will use.</param>
    /// <param name="featureIndices">The features to keep.</param>
    /// <param name="batchSize">Images per forward pass.</param>
    public static TeacherOutputs Compute(nn.Module<Tensor, Tensor> teacher, Tensor images, IReadOnlyList<int> featureIndices, int batchSize)
    {
        teacher.eval();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long n = images.shape[0];
        var logitParts = new List<Tensor>();
        int featureCount = teacher is FeatureModel f ? f.Features.Count : 0;
        var featureParts = Enumerable.Range(0, featureCount).Select(_ => new List<Tensor>()).ToArray();
        for (long start = 0; start < n; start += batchSize)
        {
            var batch = images.narrow(0, start, Math.Min(batchSize, n - start));
            if (featureIndices.Count == 0)
            {
                logitParts.Add(teacher.call(batch));
                continue;
            }
            var output = ((FeatureModel)teacher).forward_features(batch);
            logitParts.Add(output.Logits);
            foreach (var i in featureIndices) featureParts[i].Add(output.Features[i]);
        }
        var features = new Tensor?[featureCount];
        foreach (var i in featureIndices) features[i] = cat(featureParts[i], 0).MoveToOuterDisposeScope();
        return new TeacherOutputs(cat(logitParts, 0).MoveToOuterDisposeScope(), features);
    }

    /// <summary>How many images.</summary>
    public long Count => logits.shape[0];

    /// <summary>The indices of the cached features.</summary>
    public IReadOnlyList<int> FeatureIndices => [.. Enumerable.Range(0, features.Length).Where(i => features[i] is not null)];

    /// <summary>True when every feature in <paramref name="indices"/> is cached.</summary>
    public bool Covers(IEnumerable<int> indices) => indices.All(i => i >= 0 && i < features.Length && features[i] is not null);

    /// <summary>Wraps precomputed logits [N, classes] (no features); disposing the cache disposes <paramref name="logits"/>, so pass a handle the cache may own.</summary>
    public static TeacherOutputs FromLogits(Tensor logits) => new(logits, []);

    /// <summary>The cached outputs of the images at <paramref name="index"/>; features not cached come back empty.</summary>
    public ModelOutput Select(Tensor index) =>
        new(features.Select(f => f is null ? empty(0) : f.index_select(0, index)).ToList(), logits.index_select(0, index));

    /// <summary>Frees the cached tensors.</summary>
    public void Dispose()
    {
        logits.Dispose();
        foreach (var f in features) f?.Dispose();
    }
}

using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 06 (relation-based distillation): the learner's normalised distance matrix
/// (RKD, Park et al. 2019) and similarity matrix (SP, Tung and Mori 2019). Each names the mistake it finds.
/// </summary>
public static class RelationChecks
{
    const int Batch = 5, Width = 6;

    /// <summary>
    /// Checks <c>myDistances(embeddings)</c> for embeddings [B, D]: the Euclidean distances between every pair of rows,
    /// [B, B] with a zero diagonal, divided by their mean over the B·(B − 1) distinct pairs, as
    /// <see cref="RkdDistanceLoss.NormalisedDistances"/> computes them.
    /// </summary>
    public static CheckResult CheckNormalisedDistances(Func<Tensor, Tensor> myDistances)
    {
        ArgumentNullException.ThrowIfNull(myDistances);
        using var scope = NewDisposeScope();
        var e = Embeddings(51);
        var (value, failure) = MistakeFinder.Call(() => myDistances(e.clone()), "MyDistances");
        if (failure is not null) return failure;
        if (!value!.shape.SequenceEqual([(long)Batch, Batch]))
            return new CheckResult(false, $"Not yet: MyDistances returned [{string.Join(", ", value.shape)}]; for {Batch} embeddings it should return the [{Batch}, {Batch}] matrix of distances between every pair." +
                                          (value.shape.SequenceEqual([(long)Width, Width]) ? " You compared the dimensions, not the examples: use e·eᵀ, not eᵀ·e." : ""));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new("You used squared distances ‖e_i − e_j‖²; RKD uses the distances themselves (take the square root)."),
             new("You used the dot products e_i·e_j, a similarity; RKD's distance-wise loss uses Euclidean distances ‖e_i − e_j‖.")],
            [Choice.Right,
             new("The distances are not normalised. Divide them by their mean over the pairs, so that teacher and student are compared whatever the scale of their embeddings."),
             new($"You averaged over all B² = {Batch * Batch} entries, the zero diagonal included; the mean is over the B·(B − 1) = {Batch * (Batch - 1)} distinct pairs."),
             new("You divided by the largest distance; RKD divides by the mean distance over distinct pairs.")],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => DistanceVariant(e, c), value);
        return MistakeFinder.Verdict(explained, "the pairwise distances divided by their mean over the distinct pairs.",
            "the values differ from the normalised distances. Compute ‖e_i − e_j‖ for every pair (zero on the diagonal), then divide by their sum over B·(B − 1).");
    }

    /// <summary>
    /// Checks <c>mySimilarity(features)</c> for features [B, ...]: flatten each example to a row of A [B, D], form the
    /// B × B matrix A·Aᵀ, and divide each row by its L2 norm, as <see cref="SimilarityPreservingLoss.Similarity"/> does.
    /// </summary>
    public static CheckResult CheckSimilarity(Func<Tensor, Tensor> mySimilarity)
    {
        ArgumentNullException.ThrowIfNull(mySimilarity);
        using var scope = NewDisposeScope();
        using var generator = new Generator(52);
        var f = randn(Batch, 2, 3, 3, dtype: ScalarType.Float64, generator: generator);
        var (value, failure) = MistakeFinder.Call(() => mySimilarity(f.clone()), "MySimilarity");
        if (failure is not null) return failure;
        if (!value!.shape.SequenceEqual([(long)Batch, Batch]))
            return new CheckResult(false, $"Not yet: MySimilarity returned [{string.Join(", ", value.shape)}]; for a batch of {Batch} it should return [{Batch}, {Batch}]. " +
                                          "Flatten each example first (features.flatten(1)) and multiply A by its transpose, A·Aᵀ.");

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new("You normalised the rows of A before the product, which gives cosine similarities. SP takes A·Aᵀ first and then normalises each row of that matrix.")],
            [Choice.Right,
             new("The rows are not normalised: divide each row of A·Aᵀ by its L2 norm (F.normalize(g, p: 2, dim: 1))."),
             new("You divided the whole matrix by one norm; SP normalises each row on its own (dim: 1)."),
             new("You divided each row by its sum (L1); SP uses the L2 norm.")],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => SimilarityVariant(f, c), value);
        return MistakeFinder.Verdict(explained, "G = A·Aᵀ with each row divided by its L2 norm.",
            "the values differ from SP's similarity matrix. Flatten to A [B, D], compute g = A.matmul(A.t()), then F.normalize(g, p: 2, dim: 1).");
    }

    // choices: what (distance, squared distance, dot product), normalisation (mean over pairs, none, mean over B², max)
    static Tensor DistanceVariant(Tensor e, int[] c)
    {
        var d = c[0] switch
        {
            0 => RkdDistanceLoss.PairwiseDistances(e),
            1 => RkdDistanceLoss.PairwiseDistances(e).pow(2),
            _ => e.matmul(e.t()),
        };
        long b = e.shape[0];
        return c[1] switch
        {
            0 => d.div(d.sum().div(b * (b - 1))),
            1 => d,
            2 => d.div(d.mean()),
            _ => d.div(d.max()),
        };
    }

    // choices: rows normalised before the product, normalisation of the product (rows L2, none, whole matrix, rows L1)
    static Tensor SimilarityVariant(Tensor f, int[] c)
    {
        var a = f.flatten(1);
        if (c[0] == 1) a = F.normalize(a, p: 2, dim: 1);
        var g = a.matmul(a.t());
        return c[1] switch
        {
            0 => F.normalize(g, p: 2, dim: 1),
            1 => g,
            2 => g.div(g.norm()),
            _ => g.div(g.sum(1, keepdim: true)),
        };
    }

    static Tensor Embeddings(ulong seed)
    {
        using var generator = new Generator(seed);
        return randn(Batch, Width, dtype: ScalarType.Float64, generator: generator).mul(3);
    }
}

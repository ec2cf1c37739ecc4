using KnowledgeDistillation.Losses;
using TorchSharp;
using static KnowledgeDistillation.Exercises.Localized;
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
            return LearnerCode.Fail(
                Say($"MyDistances returned [{string.Join(", ", value.shape)}]; for {Batch} embeddings it should return the [{Batch}, {Batch}] matrix of distances between every pair.",
                    $"MyDistances 傳回了 [{string.Join(", ", value.shape)}]；對 {Batch} 個嵌入，它應該傳回每一對之間距離的 [{Batch}, {Batch}] 矩陣。") +
                (value.shape.SequenceEqual([(long)Width, Width])
                    ? Say(" You compared the dimensions, not the examples: use e·eᵀ, not eᵀ·e.", "你比較的是維度，而不是範例：請用 e·eᵀ，而不是 eᵀ·e。")
                    : ""));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new(Say("You used squared distances ‖e_i − e_j‖²; RKD uses the distances themselves (take the square root).",
                 "你用的是距離的平方 ‖e_i − e_j‖²；RKD 用的是距離本身（請取平方根）。")),
             new(Say("You used the dot products e_i·e_j, a similarity; RKD's distance-wise loss uses Euclidean distances ‖e_i − e_j‖.",
                 "你用的是內積 e_i·e_j，那是相似度；RKD 的距離式損失用的是歐氏距離 ‖e_i − e_j‖。"))],
            [Choice.Right,
             new(Say("The distances are not normalised. Divide them by their mean over the pairs, so that teacher and student are compared whatever the scale of their embeddings.",
                 "距離沒有正規化。請把它們除以各配對上的平均值，這樣不論嵌入的尺度如何，教師與學生都能比較。")),
             new(Say($"You averaged over all B² = {Batch * Batch} entries, the zero diagonal included; the mean is over the B·(B − 1) = {Batch * (Batch - 1)} distinct pairs.",
                 $"你對全部 B² = {Batch * Batch} 個元素取了平均，連為零的對角線也算進去了；平均應該是對 B·(B − 1) = {Batch * (Batch - 1)} 個相異配對取。")),
             new(Say("You divided by the largest distance; RKD divides by the mean distance over distinct pairs.",
                 "你除以的是最大距離；RKD 除以的是相異配對上的平均距離。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => DistanceVariant(e, c), value);
        return MistakeFinder.Verdict(explained, Say("the pairwise distances divided by their mean over the distinct pairs.",
            "兩兩之間的距離，除以它們在相異配對上的平均值。"),
            Say("the values differ from the normalised distances. Compute ‖e_i − e_j‖ for every pair (zero on the diagonal), then divide by their sum over B·(B − 1).",
                "數值與正規化後的距離不同。請對每一對計算 ‖e_i − e_j‖（對角線為零），再除以它們的平均值（總和除以 B·(B − 1)）。"));
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
            return LearnerCode.Fail(
                Say($"MySimilarity returned [{string.Join(", ", value.shape)}]; for a batch of {Batch} it should return [{Batch}, {Batch}]. ",
                    $"MySimilarity 傳回了 [{string.Join(", ", value.shape)}]；對大小為 {Batch} 的批次，它應該傳回 [{Batch}, {Batch}]。") +
                Say("Flatten each example first (features.flatten(1)) and multiply A by its transpose, A·Aᵀ.",
                    "請先把每個範例攤平（features.flatten(1)），再把 A 乘以它的轉置，A·Aᵀ。"));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new(Say("You normalised the rows of A before the product, which gives cosine similarities. SP takes A·Aᵀ first and then normalises each row of that matrix.",
                 "你在相乘之前就把 A 的各列正規化了，這樣得到的是餘弦相似度。SP 是先算 A·Aᵀ，再把這個矩陣的每一列正規化。"))],
            [Choice.Right,
             new(Say("The rows are not normalised: divide each row of A·Aᵀ by its L2 norm (F.normalize(g, p: 2, dim: 1)).",
                 "各列沒有正規化：請把 A·Aᵀ 的每一列除以它的 L2 範數（F.normalize(g, p: 2, dim: 1)）。")),
             new(Say("You divided the whole matrix by one norm; SP normalises each row on its own (dim: 1).",
                 "你把整個矩陣除以同一個範數；SP 是把每一列各自正規化（dim: 1）。")),
             new(Say("You divided each row by its sum (L1); SP uses the L2 norm.", "你把每一列除以它的總和（L1）；SP 用的是 L2 範數。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => SimilarityVariant(f, c), value);
        return MistakeFinder.Verdict(explained, Say("G = A·Aᵀ with each row divided by its L2 norm.", "G = A·Aᵀ，每一列除以它的 L2 範數。"),
            Say("the values differ from SP's similarity matrix. Flatten to A [B, D], compute g = A.matmul(A.t()), then F.normalize(g, p: 2, dim: 1).",
                "數值與 SP 的相似度矩陣不同。請攤平成 A [B, D]，計算 g = A.matmul(A.t())，然後 F.normalize(g, p: 2, dim: 1)。"));
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

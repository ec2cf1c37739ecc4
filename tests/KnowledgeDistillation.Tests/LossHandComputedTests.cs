using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Each loss on inputs small enough to compute by hand; the arithmetic is in the comments.
/// Tolerance 1e-6 on float64: the hand values are given to 6–7 significant digits.</summary>
public class LossHandComputedTests
{
    const double Tol = 1e-6;
    static readonly double Ln3 = Math.Log(3);

    static Tensor T64(double[,] values) => tensor(values, dtype: ScalarType.Float64);
    static Tensor T64(double[] values) => tensor(values, dtype: ScalarType.Float64);
    static double Value(Tensor t) => t.item<double>();

    [Fact]
    public void Soft_targets_at_T_1_and_2()
    {
        // softmax([0, ln 3]) = [1, 3] / 4 = [0.25, 0.75].
        var z = T64(new[,] { { 0, Ln3 } });
        Assert.Equal([0.25, 0.75], SoftTargets.Probabilities(z, 1).data<double>().ToArray(), (a, b) => Math.Abs(a - b) < Tol);
        // At T = 2: softmax([0, ln 3 / 2]) = [1, √3] / (1 + √3) = [0.3660254, 0.6339746].
        Assert.Equal([0.3660254, 0.6339746], SoftTargets.Probabilities(z, 2).data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-7);
        // log_softmax is the log of the same: ln 0.25 = −1.3862944.
        Assert.Equal(Math.Log(0.25), SoftTargets.LogProbabilities(z, 1)[0, 0].item<double>(), Tol);
        // Entropy of [0.5, 0.5] is ln 2; of [1, 0] it is 0.
        Assert.Equal(Math.Log(2), Value(SoftTargets.Entropy(T64(new[] { 0.5, 0.5 }))), Tol);
        Assert.Equal(0, Value(SoftTargets.Entropy(T64(new[] { 1.0, 0.0 }))), Tol);
    }

    [Fact]
    public void KL_and_soft_cross_entropy()
    {
        // p = [1/2, 1/2], q = [1/4, 3/4].
        // KL(p‖q) = ½ ln(0.5/0.25) + ½ ln(0.5/0.75) = ½ ln(4/3) = 0.1438410.
        // CE(p, q) = −½ ln ¼ − ½ ln ¾ = ½ ln(16/3) = 0.8369882 = KL + H(p) = 0.1438410 + ln 2.
        var logP = T64(new[,] { { 0.5, 0.5 } }).log();
        var logQ = T64(new[,] { { 0.25, 0.75 } }).log();
        Assert.Equal(0.1438410, Value(KLDivergence.BatchMean(logQ, logP)), Tol);
        Assert.Equal(0.8369882, Value(KLDivergence.SoftCrossEntropy(logQ, logP.exp())), Tol);
    }

    [Fact]
    public void KL_is_averaged_over_the_batch()
    {
        // Row 1 as above (0.1438410), row 2 identical distributions (0): batchmean = 0.0719205.
        var logP = T64(new[,] { { 0.5, 0.5 }, { 0.2, 0.8 } }).log();
        var logQ = T64(new[,] { { 0.25, 0.75 }, { 0.2, 0.8 } }).log();
        Assert.Equal(0.0719205, Value(KLDivergence.BatchMean(logQ, logP)), Tol);
    }

    [Fact]
    public void Hinton_KD_at_T_1()
    {
        // Student z = [0, ln 3] → q = [1/4, 3/4]; teacher v = [0, 0] → p = [1/2, 1/2]; label 1.
        // soft = T² · KL = 1 · 0.1438410; hard = −ln ¾ = 0.2876821; α = 0.5 → total = 0.2157616.
        var loss = new HintonKDLoss(T: 1, alpha: 0.5);
        var z = T64(new[,] { { 0, Ln3 } });
        var v = T64(new[,] { { 0.0, 0.0 } });
        var y = tensor(new long[] { 1 });
        var terms = loss.Terms(z, v, y);
        Assert.Equal(0.1438410, Value(terms.Soft), Tol);
        Assert.Equal(0.2876821, Value(terms.Hard), Tol);
        Assert.Equal(0.2157616, Value(loss.call(z, v, y)), Tol);
    }

    [Fact]
    public void Hinton_KD_at_T_2_scales_the_soft_term_by_T_squared()
    {
        // z = [0, 2 ln 3]: z/T = [0, ln 3] → q_T = [1/4, 3/4]; v = [0, 0] → p_T = [1/2, 1/2].
        // soft = 4 · 0.1438410 = 0.5753641. hard at T = 1: softmax(z) = [1/10, 9/10] → −ln 0.9 = 0.1053605.
        // α = 0.75 → total = 0.75 · 0.5753641 + 0.25 · 0.1053605 = 0.4578632.
        var loss = new HintonKDLoss(T: 2, alpha: 0.75);
        var z = T64(new[,] { { 0, 2 * Ln3 } });
        var v = T64(new[,] { { 0.0, 0.0 } });
        var y = tensor(new long[] { 1 });
        Assert.Equal(0.5753641, Value(loss.Terms(z, v, y).Soft), Tol);
        Assert.Equal(0.1053605, Value(loss.Terms(z, v, y).Hard), Tol);
        Assert.Equal(0.4578632, Value(loss.call(z, v, y)), Tol);
        // The cross-entropy form adds T² · H(p_T) = 4 ln 2 = 2.7725887 to the soft term: 3.3479528.
        var ce = new HintonKDLoss(T: 2, alpha: 0.75, form: SoftTargetForm.CrossEntropy);
        Assert.Equal(3.3479528, Value(ce.Terms(z, v, y).Soft), Tol);
    }

    [Fact]
    public void Logit_matching_both_kinds()
    {
        // Row 1: z = [1, 2, 3], v = [1, 0, 0]: Caruana ½ ‖z − v‖² = ½ (0 + 4 + 9) = 6.5. Row 2: z = v → 0. Mean 3.25.
        var z = T64(new[,] { { 1.0, 2, 3 }, { 1, 1, 1 } });
        var v = T64(new[,] { { 1.0, 0, 0 }, { 1, 1, 1 } });
        Assert.Equal(3.25, Value(new LogitMatchingLoss(LogitMatching.Caruana).call(z, v)), Tol);
        // HintonLimit: centre z → [−1, 0, 1], v → [2/3, −1/3, −1/3]; difference [−5/3, 1/3, 4/3];
        // squares 25/9 + 1/9 + 16/9 = 42/9; times 1/(2·3) = 0.7777778; row 2 → 0; mean 0.3888889.
        Assert.Equal(0.3888889, Value(new LogitMatchingLoss(LogitMatching.HintonLimit).call(z, v)), Tol);
    }

    [Fact]
    public void Reverse_KL_and_JSD_on_one_token()
    {
        // Student q = [1/4, 3/4], teacher p = [1/2, 1/2].
        // KL(q‖p) = ¼ ln ½ + ¾ ln 1.5 = −0.1732868 + 0.3040988 = 0.1308121.
        var z = T64(new[,] { { 0, Ln3 } });
        var v = T64(new[,] { { 0.0, 0.0 } });
        Assert.Equal(0.1308121, Value(new ReverseKLLoss().call(z, v)), Tol);
        // JSD(0.5): m = [3/8, 5/8]. KL(p‖m) = ½ ln(4/3) + ½ ln 0.8 = 0.0322693; KL(q‖m) = ¼ ln(2/3) + ¾ ln 1.2 = 0.0353748.
        // JSD = ½ (0.0322693 + 0.0353748) = 0.0338221.
        Assert.Equal(0.0338221, Value(new GeneralizedJSDLoss(beta: 0.5).call(z, v)), Tol);
    }

    [Fact]
    public void Token_losses_average_only_over_masked_tokens()
    {
        // Two tokens: the first as above (0.1308121), the second identical (0). Mask [1, 0] → 0.1308121; no mask → 0.0654061.
        var z = T64(new[,] { { 0, Ln3 }, { 1, 2 } }).reshape(1, 2, 2);
        var v = T64(new[,] { { 0.0, 0.0 }, { 1, 2 } }).reshape(1, 2, 2);
        var loss = new ReverseKLLoss();
        Assert.Equal(0.1308121, Value(loss.Compute(z, v, tensor(new float[,] { { 1, 0 } }))), Tol);
        Assert.Equal(0.0654061, Value(loss.call(z, v)), Tol);
    }

    [Fact]
    public void Hint_loss_with_an_identity_regressor()
    {
        // r = identity (weight I, bias 0): r(s) = [1, 2], t = [2, 4] → mean((1−2)², (2−4)²) = (1 + 4) / 2 = 2.5.
        var loss = new HintLoss(2, 2, spatial: false);
        using (no_grad())
        {
            var linear = (TorchSharp.Modules.Linear)loss.Regressor;
            linear.weight!.copy_(eye(2));
            linear.bias!.zero_();
        }
        Assert.Equal(2.5, loss.call(tensor(new float[,] { { 1, 2 } }), tensor(new float[,] { { 2, 4 } })).item<float>(), 1e-6);
    }

    [Fact]
    public void Attention_transfer_on_two_pixel_maps()
    {
        // Student [B=1, C=2, 1×2]: both channels [1, 0] → mean_c |f|² = [1, 0] → normalised [1, 0].
        // Teacher: both channels [0, 3] → mean_c |f|² = [0, 9] → normalised [0, 1]. (Q_S − Q_T)² = [1, 1] → mean 1.
        var s = T64(new[] { 1.0, 0, 1, 0 }).reshape(1, 2, 1, 2);
        var t = T64(new[] { 0.0, 3, 0, 3 }).reshape(1, 2, 1, 2);
        Assert.Equal(1.0, Value(new AttentionTransferLoss().call(s, t)), Tol);
        // Identical maps up to scale and channel count → 0.
        var t3 = T64(new[] { 2.0, 0, 2, 0, 2, 0 }).reshape(1, 3, 1, 2);
        Assert.Equal(0.0, Value(new AttentionTransferLoss().call(s, t3)), Tol);
    }

    [Fact]
    public void Cosine_hidden_loss()
    {
        // Row 1: s = [1, 0], t = [0, 1] → 1 − cos = 1. Row 2: s = [1, 1], t = [2, 2] → 0. Mean 0.5.
        var s = T64(new[,] { { 1.0, 0 }, { 1, 1 } });
        var t = T64(new[,] { { 0.0, 1 }, { 2, 2 } });
        Assert.Equal(0.5, Value(new CosineHiddenLoss().call(s, t)), Tol);
        // Teacher twice as wide: [0, 2, 0, 2] average-pools in pairs to [1, 1]; with s = [1, 1] → 0.
        Assert.Equal(0.0, Value(new CosineHiddenLoss().call(T64(new[,] { { 1.0, 1 } }), T64(new[,] { { 0.0, 2, 0, 2 } }))), Tol);
    }

    [Fact]
    public void RKD_distance_on_three_points()
    {
        // Student on a line: 0, 1, 2 → distances 1, 2, 1; mean over the 6 ordered pairs = 8/6 = 4/3
        // → normalised 0.75, 1.5, 0.75. Teacher: equilateral triangle, all distances equal → all 1.
        // Differences −0.25, 0.5, −0.25 (each twice); Huber ½x²: 0.03125, 0.125, 0.03125 → sum 0.375; mean over 9 = 0.0416667.
        var s = T64(new[,] { { 0.0 }, { 1 }, { 2 } });
        var t = T64(new[,] { { 0, 0 }, { 1, 0 }, { 0.5, Math.Sqrt(3) / 2 } });
        Assert.Equal(0.0416667, Value(new RkdDistanceLoss().call(s, t)), Tol);
    }

    [Fact]
    public void RKD_angle_cosines_of_a_right_triangle()
    {
        // t0 = (0, 0), t1 = (1, 0), t2 = (0, 1). At t0: e_10 = (1, 0), e_20 = (0, 1) → cos 0.
        // At t1: e_01 = (−1, 0), e_21 = (−1, 1)/√2 → cos = 1/√2.
        var cosines = RkdAngleLoss.AngleCosines(T64(new[,] { { 0, 0 }, { 1, 0 }, { 0.0, 1 } }));
        Assert.Equal(0.0, cosines[0, 1, 2].item<double>(), Tol);
        Assert.Equal(1 / Math.Sqrt(2), cosines[1, 0, 2].item<double>(), Tol);
        Assert.Equal(1.0, cosines[0, 1, 1].item<double>(), Tol);
    }

    /// <summary>The Gram-matrix form of the angle cosines (fast) against the definition's difference vectors: values and
    /// gradients agree in float64 (random embeddings and an all-zero one, as after a ReLU), values in float32 to rounding.
    /// Where two embeddings are equal, their difference is zero: both forms give the cosine 0 there, but the difference
    /// form's gradient goes through <c>F.normalize</c> of a zero vector and comes out of the order of 1/eps = 10¹²,
    /// while the Gram form gives that direction no gradient.</summary>
    [Fact]
    public void RKD_angle_cosines_from_the_Gram_matrix_match_the_difference_vectors_with_their_gradients()
    {
        using var generator = new TorchSharp.torch.Generator(5);
        var e = TorchSharp.torch.randn(9, 6, dtype: TorchSharp.torch.ScalarType.Float64, generator: generator).mul(3);
        using (TorchSharp.torch.no_grad()) e[7].zero_(); // an all-zero embedding
        // A teacher's cosines as the target: zero at the degenerate entries, as in training. (With a random target there,
        // the difference form's gradient carries terms of 1/eps = 10¹² that cancel only up to rounding, about 10⁻⁷ here;
        // a finite difference agrees with the Gram form.)
        var target = RkdAngleLoss.AngleCosinesByDifferences(TorchSharp.torch.randn(9, 4, dtype: TorchSharp.torch.ScalarType.Float64, generator: generator));
        (TorchSharp.torch.Tensor Value, TorchSharp.torch.Tensor Grad) Run(TorchSharp.torch.Tensor embeddings, Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> cosines)
        {
            var x = embeddings.clone().requires_grad_(true);
            var c = cosines(x);
            TorchSharp.torch.nn.functional.huber_loss(c, target, delta: 1.0).backward();
            return (c.detach(), x.grad!.clone());
        }
        var (fast, fastGrad) = Run(e, RkdAngleLoss.AngleCosines);
        var (reference, referenceGrad) = Run(e, RkdAngleLoss.AngleCosinesByDifferences);
        Assert.True(fast.allclose(reference, rtol: 1e-12, atol: 1e-12), $"values differ by {fast.sub(reference).abs().max().item<double>():E2}");
        Assert.True(fastGrad.allclose(referenceGrad, rtol: 1e-9, atol: 1e-12), $"gradients differ by {fastGrad.sub(referenceGrad).abs().max().item<double>():E2}");
        Assert.Equal(0.0, fast[3, 3, 1].item<double>()); // from a point to itself: direction 0

        var e32 = e.to_type(TorchSharp.torch.ScalarType.Float32);
        Assert.True(RkdAngleLoss.AngleCosines(e32).to_type(TorchSharp.torch.ScalarType.Float64).allclose(reference, rtol: 0, atol: 2e-6));

        // Two equal embeddings: the same values, a finite gradient here, a 1/eps-sized one through F.normalize.
        var twins = e.clone();
        using (TorchSharp.torch.no_grad()) twins[4].copy_(twins[2]);
        var (fastTwins, fastTwinsGrad) = Run(twins, RkdAngleLoss.AngleCosines);
        var (referenceTwins, referenceTwinsGrad) = Run(twins, RkdAngleLoss.AngleCosinesByDifferences);
        Assert.True(fastTwins.allclose(referenceTwins, rtol: 1e-12, atol: 1e-12));
        Assert.Equal(0.0, fastTwins[2, 4, 1].item<double>());
        Assert.True(fastTwinsGrad.abs().max().item<double>() < 10, $"largest gradient {fastTwinsGrad.abs().max().item<double>():E2}");
        Assert.True(referenceTwinsGrad.abs().max().item<double>() > 1e6, "the difference form's gradient through normalize(0) was expected to blow up");
    }

    [Fact]
    public void Similarity_preserving_on_two_samples()
    {
        // Student F = I → G = I (rows already unit). Teacher rows both [1, 0] → G = all ones → rows [1/√2, 1/√2].
        // ‖G_T − G_S‖²_F = 2 (1 − 1/√2)² + 2 (1/√2)² = 0.1715729 + 1 = 1.1715729; / B² = 4 → 0.2928932.
        var s = T64(new[,] { { 1, 0 }, { 0.0, 1 } });
        var t = T64(new[,] { { 1, 0 }, { 1.0, 0 } });
        Assert.Equal(0.2928932, Value(new SimilarityPreservingLoss().call(s, t)), Tol);
    }

    [Fact]
    public void PKT_on_two_samples()
    {
        // Student orthogonal: cos = I → K = [[1, ½], [½, 1]] → rows [2/3, 1/3], [1/3, 2/3].
        // Teacher parallel: cos = 1 everywhere → K = 1 → rows [½, ½].
        // Σ p_T ln(p_T / p_S) = 2 (½ ln(¾) + ½ ln(3/2)) = 0.1177830; mean over 4 entries = 0.0294458
        // (ε = 1e-7 shifts this by ~1e-7, inside the tolerance of 1e-6).
        var s = T64(new[,] { { 1, 0 }, { 0.0, 1 } });
        var t = T64(new[,] { { 1, 0 }, { 1.0, 0 } });
        Assert.Equal(0.0294458, Value(new PktLoss().call(s, t)), Tol);
    }
}

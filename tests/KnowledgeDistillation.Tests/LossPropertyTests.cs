using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Properties the losses must have whatever the inputs; random inputs in float64, seeded.</summary>
public class LossPropertyTests
{
    static Tensor Randn(params long[] shape) => randn(shape, dtype: ScalarType.Float64);

    static Tensor GradOf(Func<Tensor, Tensor> loss, Tensor input)
    {
        var x = input.detach().clone().requires_grad_(true);
        loss(x).backward();
        return x.grad!.detach().clone();
    }

    static double MaxAbs(Tensor t) => t.abs().max().item<double>();

    [Fact]
    public void KL_is_non_negative_and_zero_only_for_equal_distributions()
    {
        manual_seed(1);
        for (int i = 0; i < 20; i++)
        {
            var logP = SoftTargets.LogProbabilities(Randn(8, 10));
            var logQ = SoftTargets.LogProbabilities(Randn(8, 10));
            Assert.True(KLDivergence.BatchMean(logQ, logP).item<double>() > 0);
            Assert.Equal(0.0, KLDivergence.BatchMean(logP, logP).item<double>(), 1e-12);
        }
    }

    [Fact]
    public void Cross_entropy_minus_KL_is_the_teacher_entropy()
    {
        manual_seed(2);
        var p = SoftTargets.Probabilities(Randn(16, 10), 3);
        var logQ = SoftTargets.LogProbabilities(Randn(16, 10), 3);
        var difference = KLDivergence.SoftCrossEntropy(logQ, p).sub(KLDivergence.BatchMean(logQ, p.log()));
        Assert.Equal(SoftTargets.Entropy(p).mean().item<double>(), difference.item<double>(), 1e-10);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(4.0)]
    [InlineData(20.0)]
    public void KL_and_CE_forms_have_identical_student_gradients(double T)
    {
        manual_seed(3);
        var z = Randn(6, 10);
        var v = Randn(6, 10).mul(3);
        var gKl = GradOf(x => HintonKDLoss.SoftLoss(x, v, T, SoftTargetForm.KL), z);
        var gCe = GradOf(x => HintonKDLoss.SoftLoss(x, v, T, SoftTargetForm.CrossEntropy), z);
        Assert.True(gKl.allclose(gCe, rtol: 1e-10, atol: 1e-12), $"max difference {MaxAbs(gKl - gCe)}");
        // And the two values differ by T² · mean H(p_T), a constant.
        var difference = HintonKDLoss.SoftLoss(z, v, T, SoftTargetForm.CrossEntropy).sub(HintonKDLoss.SoftLoss(z, v, T));
        Assert.Equal(T * T * SoftTargets.Entropy(SoftTargets.Probabilities(v, T)).mean().item<double>(), difference.item<double>(), 1e-9);
    }

    [Fact]
    public void T_squared_keeps_the_soft_gradient_the_same_size_across_temperatures()
    {
        manual_seed(4);
        var z = Randn(32, 10).mul(2);
        var v = Randn(32, 10).mul(2);
        double Scaled(double T) => GradOf(x => HintonKDLoss.SoftLoss(x, v, T), z).norm().item<double>();
        double Unscaled(double T) => GradOf(x => HintonKDLoss.SoftLoss(x, v, T).div(T * T), z).norm().item<double>();

        // Without T² the gradient shrinks like 1/T²: doubling T from 10 to 20 divides it by ~4.
        Assert.InRange(Unscaled(10) / Unscaled(20), 3.8, 4.2);
        Assert.True(Unscaled(20) < Unscaled(1) / 50, $"unscaled: T=1 {Unscaled(1)}, T=20 {Unscaled(20)}");
        // With T² it stays of the same order from T = 1 to T = 20, and flattens out at high T.
        Assert.InRange(Scaled(20) / Scaled(1), 0.2, 5);
        Assert.InRange(Scaled(10) / Scaled(20), 0.95, 1.05);
    }

    [Fact]
    public void At_high_T_the_KD_gradient_is_logit_matching()
    {
        // Hinton et al. 2015, eq. 4: for zero-mean logits, ∂KL/∂z_i → (z_i − v_i) / (N T²) per sample (here / B for batchmean).
        manual_seed(5);
        const int B = 4, N = 10;
        const double T = 1000;
        var z = Randn(B, N);
        var v = Randn(B, N).mul(2);
        z = z.sub(z.mean([1], keepdim: true));
        v = v.sub(v.mean([1], keepdim: true));
        var kdGrad = GradOf(x => HintonKDLoss.SoftLoss(x, v, T).div(T * T), z);
        var limit = z.sub(v).div(N * T * T * B);
        // The expansion's error is of order |z|/T per element, so compare whole gradients: ‖g − limit‖ / ‖limit‖ < 1 %.
        var relative = kdGrad.sub(limit).norm().item<double>() / limit.norm().item<double>();
        Assert.True(relative < 1e-2, $"relative gap {relative}");

        // With the T² factor, the gradient equals the library's HintonLimit logit-matching loss's gradient.
        var scaled = GradOf(x => HintonKDLoss.SoftLoss(x, v, T), z);
        var matching = GradOf(x => new LogitMatchingLoss(LogitMatching.HintonLimit).call(x, v), z);
        Assert.True(scaled.sub(matching).norm().item<double>() / matching.norm().item<double>() < 1e-2);
        // The gap closes as T grows: about ten times smaller at T = 10,000 than at T = 1,000 (error ~ 1/T).
        var gap1000 = MaxAbs(scaled - matching);
        var gap10000 = MaxAbs(GradOf(x => HintonKDLoss.SoftLoss(x, v, 10_000), z) - matching);
        Assert.True(gap10000 < gap1000 / 5, $"gap at T=1000 {gap1000}, at T=10000 {gap10000}");
    }

    [Fact]
    public void RKD_distance_ignores_the_embeddings_scale()
    {
        manual_seed(6);
        var s = Randn(8, 5);
        var t = Randn(8, 7);
        var loss = new RkdDistanceLoss();
        var reference = loss.call(s, t).item<double>();
        Assert.True(reference > 0);
        Assert.Equal(reference, loss.call(s.mul(37.5), t).item<double>(), 1e-9);
        Assert.Equal(reference, loss.call(s, t.mul(0.01)).item<double>(), 1e-9);
    }

    [Fact]
    public void RKD_angle_ignores_scale_and_translation()
    {
        manual_seed(7);
        var s = Randn(6, 5);
        var t = Randn(6, 4);
        var loss = new RkdAngleLoss();
        var reference = loss.call(s, t).item<double>();
        Assert.True(reference > 0);
        Assert.Equal(reference, loss.call(s.mul(12).add(Randn(1, 5).mul(4)), t).item<double>(), 1e-9);
        Assert.Equal(reference, loss.call(s, t.mul(0.5).sub(3)).item<double>(), 1e-9);
    }

    [Fact]
    public void Similarity_preserving_ignores_a_permutation_of_the_features()
    {
        manual_seed(8);
        var s = Randn(8, 4, 3, 3);
        var t = Randn(8, 16, 3, 3);
        var loss = new SimilarityPreservingLoss();
        var reference = loss.call(s, t).item<double>();
        var permutation = randperm(4 * 3 * 3);
        var permuted = s.flatten(1).index_select(1, permutation);
        Assert.Equal(reference, loss.call(permuted, t).item<double>(), 1e-12);
        // Permuting the samples of both the same way permutes G's rows and columns: the loss is unchanged too.
        var order = randperm(8);
        Assert.Equal(reference, loss.call(s.index_select(0, order), t.index_select(0, order)).item<double>(), 1e-12);
    }

    [Fact]
    public void Relation_and_feature_losses_are_zero_when_student_equals_teacher()
    {
        manual_seed(9);
        var f = Randn(6, 8);
        Assert.Equal(0, new RkdDistanceLoss().call(f, f).item<double>(), 1e-12);
        Assert.Equal(0, new RkdAngleLoss().call(f, f).item<double>(), 1e-12);
        Assert.Equal(0, new SimilarityPreservingLoss().call(f, f).item<double>(), 1e-12);
        Assert.Equal(0, new PktLoss().call(f, f).item<double>(), 1e-12);
        Assert.Equal(0, new CosineHiddenLoss().call(f, f).item<double>(), 1e-12);
        var maps = Randn(6, 3, 4, 4);
        Assert.Equal(0, new AttentionTransferLoss().call(maps, maps).item<double>(), 1e-12);
        var logits = Randn(6, 10);
        Assert.Equal(0, new ReverseKLLoss().call(logits, logits).item<double>(), 1e-12);
        Assert.Equal(0, new GeneralizedJSDLoss().call(logits, logits).item<double>(), 1e-12);
    }

    [Fact]
    public void JSD_is_symmetric_at_beta_one_half_bounded_by_ln2_and_tends_to_both_KLs()
    {
        manual_seed(10);
        var z = Randn(5, 7).mul(3);
        var v = Randn(5, 7).mul(3);
        var half = new GeneralizedJSDLoss(0.5);
        Assert.Equal(half.call(z, v).item<double>(), half.call(v, z).item<double>(), 1e-12);
        Assert.InRange(half.call(z.mul(100), v.mul(-100)).item<double>(), 0, Math.Log(2) + 1e-12);

        // β → 0: JSD(β)/β → KL(p‖q), forward; β → 1: JSD(β)/(1−β) → KL(q‖p), reverse. The error is of order
        // β · Σ p²/q, so use unscaled logits and a tiny β (float64 keeps JSD/β accurate to ~1e-10 here).
        z = Randn(5, 7);
        v = Randn(5, 7);
        double beta = 1e-6;
        var forward = KLDivergence.BatchMean(SoftTargets.LogProbabilities(z), SoftTargets.LogProbabilities(v)).item<double>();
        var reverse = new ReverseKLLoss().call(z, v).item<double>();
        Assert.Equal(forward, new GeneralizedJSDLoss(beta).call(z, v).item<double>() / beta, forward * 1e-3);
        Assert.Equal(reverse, new GeneralizedJSDLoss(1 - beta).call(z, v).item<double>() / beta, reverse * 1e-3);
    }

    [Fact]
    public void No_gradient_reaches_the_teacher()
    {
        manual_seed(11);
        var v = Randn(4, 10).requires_grad_(true);
        var z = Randn(4, 10).requires_grad_(true);
        new HintonKDLoss(4, 0.9).call(z, v, tensor(new long[] { 0, 1, 2, 3 })).backward();
        Assert.NotNull(z.grad);
        Assert.Null(v.grad);
    }
}

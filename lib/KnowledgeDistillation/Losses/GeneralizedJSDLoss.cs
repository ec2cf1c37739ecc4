using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// The generalised Jensen–Shannon divergence over next-token distributions,
/// <c>JSD(β)(p ‖ q) = β · KL(p ‖ m) + (1 − β) · KL(q ‖ m)</c> with the mixture <c>m = β p + (1 − β) q</c>,
/// p the teacher's distribution and q the student's. Averaged over the tokens a mask keeps.
/// </summary>
/// <remarks>
/// <para>R. Agarwal et al., "On-Policy Distillation of Language Models: Learning from Self-Generated Mistakes" (GKD),
/// ICLR 2024 (arXiv:2306.13649), section 3. β = 0.5 gives the usual, symmetric JSD, bounded by ln 2. As β → 0,
/// JSD(β) / β tends to the forward KL(p ‖ q); as β → 1, JSD(β) / (1 − β) tends to the reverse KL(q ‖ p).</para>
/// <para>log m is computed stably as <c>logsumexp(log p + log β, log q + log(1 − β))</c>.</para>
/// </remarks>
public sealed class GeneralizedJSDLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="beta">The mixture weight of the teacher, strictly between 0 and 1.</param>
    /// <param name="T">The temperature of both distributions, &gt; 0.</param>
    public GeneralizedJSDLoss(double beta = 0.5, double T = 1.0) : base(nameof(GeneralizedJSDLoss))
    {
        if (!(beta > 0 && beta < 1))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, $"beta must be strictly between 0 and 1; got {beta}.");
        LossChecks.Temperature(T);
        Beta = beta;
        this.T = T;
        RegisterComponents();
    }

    /// <summary>The teacher's weight in the mixture.</summary>
    public double Beta { get; }

    /// <summary>The temperature.</summary>
    public double T { get; }

    /// <summary>The loss over all token positions; logits [..., V].</summary>
    public override Tensor forward(Tensor student, Tensor teacher) => Compute(student, teacher, null);

    /// <summary>The loss averaged over the token positions with the weights <paramref name="mask"/> [...]:
    /// <c>Σ_i w_i ℓ_i / Σ_i w_i</c>, so a 0/1 mask averages over the positions it keeps (as <see cref="TokenKDLoss"/> does).</summary>
    public Tensor Compute(Tensor student, Tensor teacher, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var (s, t, m) = TokenDistributions.Flatten(student, teacher, mask);
        var logQ = F.log_softmax(s.div(T), -1);
        var logP = F.log_softmax(t.detach().div(T), -1);
        var logM = stack([logP.add(Math.Log(Beta)), logQ.add(Math.Log(1 - Beta))]).logsumexp(0);
        var klPM = logP.exp().mul(logP.sub(logM)).sum(-1);
        var klQM = logQ.exp().mul(logQ.sub(logM)).sum(-1);
        var perToken = klPM.mul(Beta).add(klQM.mul(1 - Beta));
        return TokenDistributions.MaskedMean(perToken, m).MoveToOuterDisposeScope();
    }
}

using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Reverse KL over next-token distributions, <c>KL(q ‖ p) = Σ_v q_v (log q_v − log p_v)</c>, with the student's
/// distribution q first: mode-seeking, it penalises the student for putting mass where the teacher puts little.
/// Averaged over the tokens a mask keeps.
/// </summary>
/// <remarks>
/// Used by MiniLLM: Y. Gu, L. Dong, F. Wei, M. Huang, "MiniLLM: Knowledge Distillation of Large Language Models",
/// ICLR 2024 (arXiv:2306.08543). Both distributions are taken at temperature T; no T² factor is applied.
/// </remarks>
public sealed class ReverseKLLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss at temperature <paramref name="T"/> (&gt; 0).</summary>
    public ReverseKLLoss(double T = 1.0) : base(nameof(ReverseKLLoss))
    {
        LossChecks.Temperature(T);
        this.T = T;
        RegisterComponents();
    }

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
        var perToken = logQ.exp().mul(logQ.sub(logP)).sum(-1);
        return TokenDistributions.MaskedMean(perToken, m).MoveToOuterDisposeScope();
    }
}

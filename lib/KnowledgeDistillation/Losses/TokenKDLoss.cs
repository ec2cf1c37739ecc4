using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Token-level knowledge distillation for language models: Hinton's loss applied at every kept token position,
/// <c>α · T² · KL(p_T ‖ q_T) + (1 − α) · CE(q_1, y)</c>, with p_T and q_T the teacher's and the student's next-token
/// distributions at temperature T, averaged over the tokens a mask keeps (forward KL: mode-covering).
/// </summary>
/// <remarks>
/// <para>Word-level KD of Y. Kim and A. M. Rush, "Sequence-Level Knowledge Distillation", EMNLP 2016 (section 3.1), with
/// the temperature and T² factor of G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural Network", 2015.
/// The KL is the library's <see cref="KLDivergence.BatchMean"/> over the kept positions, which then are the batch.</para>
/// <para>The teacher's logits are detached. The mask is 0/1; positions it drops (prompt, padding) contribute nothing.</para>
/// </remarks>
public sealed class TokenKDLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="T">The temperature, &gt; 0.</param>
    /// <param name="alpha">The weight of the KL term, in [0, 1]; 1 − alpha weighs the cross entropy with the data's tokens.</param>
    public TokenKDLoss(double T = 1.0, double alpha = 1.0) : base(nameof(TokenKDLoss))
    {
        LossChecks.Temperature(T);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"alpha must be in [0, 1]; got {alpha}.");
        this.T = T;
        Alpha = alpha;
        RegisterComponents();
    }

    /// <summary>The temperature.</summary>
    public double T { get; }

    /// <summary>The weight of the KL term.</summary>
    public double Alpha { get; }

    /// <summary><c>T² · KL</c> over all positions (alpha must be 1: there are no targets); logits [..., V].</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        if (Alpha != 1) throw new InvalidOperationException($"With alpha = {Alpha} the loss needs the target tokens; call Compute.");
        return Compute(student, teacher, null, null);
    }

    /// <summary>The loss over the positions where <paramref name="mask"/> is non-zero.</summary>
    /// <param name="student">Student logits [..., V].</param>
    /// <param name="teacher">Teacher logits, same shape.</param>
    /// <param name="targets">The data's next tokens [...] (int64); needed when alpha &lt; 1.</param>
    /// <param name="mask">0/1 per position [...]; null keeps every position.</param>
    public Tensor Compute(Tensor student, Tensor teacher, Tensor? targets, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var (s, t, m) = TokenDistributions.Flatten(student, teacher, mask);
        var kept = m.nonzero().squeeze(1);
        if (kept.shape[0] == 0) throw new ArgumentException("The mask keeps no tokens.", nameof(mask));
        s = s.index_select(0, kept);
        var loss = Alpha == 0 ? zeros(1, dtype: s.dtype, device: s.device).squeeze() : KL(s, t.index_select(0, kept)).mul(Alpha * T * T);
        if (Alpha < 1)
        {
            if (targets is null) throw new ArgumentException($"With alpha = {Alpha} < 1 the loss needs the target tokens.", nameof(targets));
            if (!targets.shape.SequenceEqual(student.shape[..^1]))
                throw new ArgumentException($"The targets {LossChecks.Shape(targets)} must match the token positions [{string.Join(", ", student.shape[..^1])}].", nameof(targets));
            var y = targets.reshape(-1).index_select(0, kept);
            loss = loss.add(F.cross_entropy(s, y).mul(1 - Alpha));
        }
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The mean KL(p_T ‖ q_T) over rows of logits [N, V], without the T² factor.</summary>
    public Tensor KL(Tensor student, Tensor teacher)
    {
        using var scope = NewDisposeScope();
        var logQ = F.log_softmax(student.div(T), -1);
        var logP = F.log_softmax(teacher.detach().div(T), -1);
        return KLDivergence.BatchMean(logQ, logP).MoveToOuterDisposeScope();
    }
}

using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Token-level knowledge distillation for language models: Hinton's loss applied at every token position,
/// <c>α · T² · KL(p_T ‖ q_T) + (1 − α) · CE(q_1, y)</c>, with p_T and q_T the teacher's and the student's next-token
/// distributions at temperature T, averaged over the positions with the mask's weights (forward KL: mode-covering).
/// </summary>
/// <remarks>
/// <para>Word-level KD of Y. Kim and A. M. Rush, "Sequence-Level Knowledge Distillation", EMNLP 2016 (section 3.1), with
/// the temperature and T² factor of G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural Network", 2015.
/// With a 0/1 mask the KL is the library's <see cref="KLDivergence.BatchMean"/> over the kept positions.</para>
/// <para>The mask weighs the positions, as in <see cref="ReverseKLLoss"/> and <see cref="GeneralizedJSDLoss"/>: the loss
/// is <c>Σ_i w_i ℓ_i / Σ_i w_i</c>, so a 0/1 mask averages over the positions it keeps (prompt and padding at 0
/// contribute nothing), and a weight of 2 counts a position twice. A mask whose weights sum to 0 gives NaN (0/0), as
/// the mean of nothing does in torch: checking it would make every step wait for the device.</para>
/// <para>The teacher's logits are detached.</para>
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

    /// <summary><c>T² · KL</c> averaged over all positions (alpha must be 1: there are no targets); logits [..., V].</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        if (Alpha != 1) throw new InvalidOperationException($"With alpha = {Alpha} the loss needs the target tokens; call Compute.");
        return Compute(student, teacher, null, null);
    }

    /// <summary>The loss, averaged over the positions with the weights of <paramref name="mask"/>.</summary>
    /// <param name="student">Student logits [..., V].</param>
    /// <param name="teacher">Teacher logits, same shape.</param>
    /// <param name="targets">The data's next tokens [...] (int64); needed when alpha &lt; 1.</param>
    /// <param name="mask">A weight per position [...], such as 0/1 for dropped/kept; null weighs every position 1.</param>
    public Tensor Compute(Tensor student, Tensor teacher, Tensor? targets, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var (s, t, m) = TokenDistributions.Flatten(student, teacher, mask);
        Tensor? loss = null;
        if (Alpha > 0)
        {
            var logQ = F.log_softmax(s.div(T), -1);
            var logP = F.log_softmax(t.detach().div(T), -1);
            // The KL's terms [N, V] weighed by their position's weight and summed in one reduction, as
            // KLDivergence.BatchMean sums them: with a 0/1 mask the gradients are those of BatchMean over the kept rows.
            var terms = F.kl_div(logQ, logP, log_target: true, reduction: nn.Reduction.None);
            loss = TokenDistributions.MaskedMean(terms, m.unsqueeze(1), m).mul(Alpha * T * T);
        }
        if (Alpha < 1)
        {
            if (targets is null) throw new ArgumentException($"With alpha = {Alpha} < 1 the loss needs the target tokens.", nameof(targets));
            if (!targets.shape.SequenceEqual(student.shape[..^1]))
                throw new ArgumentException($"The targets {LossChecks.Shape(targets)} must match the token positions [{string.Join(", ", student.shape[..^1])}].", nameof(targets));
            var perToken = F.cross_entropy(s, targets.reshape(-1), reduction: nn.Reduction.None);
            var ce = TokenDistributions.MaskedMean(perToken, m).mul(1 - Alpha);
            loss = loss is null ? ce : loss.add(ce);
        }
        return loss!.MoveToOuterDisposeScope();
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

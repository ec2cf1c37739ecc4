using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// Attention transfer: the student matches the teacher's spatial attention maps,
/// <c>Q(f) = vec(mean_c |f_c|^p) / ‖vec(mean_c |f_c|^p)‖₂</c>, compared by the mean squared difference.
/// </summary>
/// <remarks>
/// <para>S. Zagoruyko and N. Komodakis, "Paying More Attention to Attention", ICLR 2017 (arXiv:1612.03928), section 3.1,
/// with p = 2 as in the paper's experiments. The maps depend only on where a layer is active, not on how many channels
/// it has, so student and teacher may differ in width. When their spatial sizes differ, the larger map is average-pooled
/// to the smaller size before comparison.</para>
/// <para>Loss per layer pair: <c>mean over batch and positions of (Q_S − Q_T)²</c>, as in the authors' code.</para>
/// </remarks>
public sealed class AttentionTransferLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Creates the loss.</summary>
    /// <param name="p">The exponent applied to |activation|, &gt; 0 (2 in the paper).</param>
    public AttentionTransferLoss(double p = 2.0) : base(nameof(AttentionTransferLoss))
    {
        if (!(p > 0) || double.IsInfinity(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be a finite number > 0.");
        P = p;
        RegisterComponents();
    }

    /// <summary>The exponent.</summary>
    public double P { get; }

    /// <summary>The attention map of feature maps [B, C, H, W]: L2-normalised, flattened, [B, H·W].</summary>
    public Tensor AttentionMap(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 4) throw new ArgumentException($"Attention maps need feature maps [B, C, H, W]; got {LossChecks.Shape(features)}.", nameof(features));
        using var scope = NewDisposeScope();
        var map = features.abs().pow(P).mean([1]).reshape(features.shape[0], -1);
        return F.normalize(map, p: 2, dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>The mean squared difference of the two attention maps; the teacher's are detached.</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (student.dim() != 4 || teacher.dim() != 4)
            throw new ArgumentException($"Attention transfer needs feature maps [B, C, H, W]; got student {LossChecks.Shape(student)} and teacher {LossChecks.Shape(teacher)}.");
        if (student.shape[0] != teacher.shape[0])
            throw new ArgumentException($"Student {LossChecks.Shape(student)} and teacher {LossChecks.Shape(teacher)} feature maps must share the batch size.", nameof(teacher));
        using var scope = NewDisposeScope();
        var (s, t) = (student, teacher.detach());
        long h = Math.Min(s.shape[2], t.shape[2]), w = Math.Min(s.shape[3], t.shape[3]);
        if (s.shape[2] != h || s.shape[3] != w) s = F.adaptive_avg_pool2d(s, [h, w]);
        if (t.shape[2] != h || t.shape[3] != w) t = F.adaptive_avg_pool2d(t, [h, w]);
        return AttentionMap(s).sub(AttentionMap(t)).pow(2).mean().MoveToOuterDisposeScope();
    }
}

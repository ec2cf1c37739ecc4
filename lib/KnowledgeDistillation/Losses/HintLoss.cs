using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Losses;

/// <summary>
/// The FitNets hint loss: a trainable regressor r maps the student's guided layer to the teacher's hint layer, and the
/// loss is the mean squared error <c>mean((r(s) − t)²)</c>.
/// </summary>
/// <remarks>
/// <para>A. Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015 (arXiv:1412.6550), section 2.2, define
/// <c>L_HT = ½ ‖u_h(x) − r(v_g(x))‖²</c>. The student is thinner than the teacher, so r, here a 1×1 convolution for
/// feature maps [B, C, H, W] or a linear map for vectors [B, D], widens the student's features to the teacher's width.
/// The regressor's parameters are trained together with the student. As in RepDistiller's <c>HintLoss</c>, the squared
/// error is averaged over every element rather than halved and summed.</para>
/// <para>Feature maps must have the same spatial size; pair layers at the same resolution.</para>
/// </remarks>
public sealed class HintLoss : nn.Module<Tensor, Tensor, Tensor>
{
    readonly nn.Module<Tensor, Tensor> regressor;

    /// <summary>Creates the loss and its regressor.</summary>
    /// <param name="studentWidth">Channels (or features) of the student's guided layer.</param>
    /// <param name="teacherWidth">Channels (or features) of the teacher's hint layer.</param>
    /// <param name="spatial">True for feature maps [B, C, H, W] (1×1 convolution), false for vectors [B, D] (linear map).</param>
    public HintLoss(long studentWidth, long teacherWidth, bool spatial = true) : base(nameof(HintLoss))
    {
        if (studentWidth <= 0) throw new ArgumentOutOfRangeException(nameof(studentWidth), studentWidth, "studentWidth must be positive.");
        if (teacherWidth <= 0) throw new ArgumentOutOfRangeException(nameof(teacherWidth), teacherWidth, "teacherWidth must be positive.");
        StudentWidth = studentWidth;
        TeacherWidth = teacherWidth;
        Spatial = spatial;
        regressor = spatial
            ? nn.Conv2d(studentWidth, teacherWidth, kernel_size: 1)
            : nn.Linear(studentWidth, teacherWidth);
        RegisterComponents();
    }

    /// <summary>Width of the student's guided layer.</summary>
    public long StudentWidth { get; }

    /// <summary>Width of the teacher's hint layer.</summary>
    public long TeacherWidth { get; }

    /// <summary>True for feature maps, false for vectors.</summary>
    public bool Spatial { get; }

    /// <summary>The regressor r, for inspection.</summary>
    public nn.Module<Tensor, Tensor> Regressor => regressor;

    /// <summary>The regressed student features, r(s).</summary>
    public Tensor Regress(Tensor student)
    {
        CheckStudent(student);
        return regressor.call(student);
    }

    /// <summary><c>mean((r(s) − t)²)</c>; the teacher's features are detached.</summary>
    public override Tensor forward(Tensor student, Tensor teacher)
    {
        CheckStudent(student);
        ArgumentNullException.ThrowIfNull(teacher);
        int dims = Spatial ? 4 : 2;
        if (teacher.dim() != dims || teacher.shape[1] != TeacherWidth)
            throw new ArgumentException($"The hint layer must be {(Spatial ? "[B, C, H, W]" : "[B, D]")} with {TeacherWidth} channels; got teacher {LossChecks.Shape(teacher)}.", nameof(teacher));
        if (student.shape[0] != teacher.shape[0] || (Spatial && (student.shape[2] != teacher.shape[2] || student.shape[3] != teacher.shape[3])))
            throw new ArgumentException($"Student {LossChecks.Shape(student)} and teacher {LossChecks.Shape(teacher)} features must share batch size{(Spatial ? " and spatial size; pair layers at the same resolution" : "")}.", nameof(teacher));
        using var scope = NewDisposeScope();
        return F.mse_loss(regressor.call(student), teacher.detach()).MoveToOuterDisposeScope();
    }

    void CheckStudent(Tensor student)
    {
        ArgumentNullException.ThrowIfNull(student);
        int dims = Spatial ? 4 : 2;
        if (student.dim() != dims || student.shape[1] != StudentWidth)
            throw new ArgumentException($"The guided layer must be {(Spatial ? "[B, C, H, W]" : "[B, D]")} with {StudentWidth} channels; got student {LossChecks.Shape(student)}.", nameof(student));
    }
}

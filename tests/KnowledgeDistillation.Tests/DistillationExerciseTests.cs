using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

using static KnowledgeDistillation.Tests.CheckAssert;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebook 04: right answers pass, and each typical mistake is named.</summary>
public class DistillationExerciseTests
{
    /// <summary>Hinton's loss written out, with switches for the usual mistakes.</summary>
    static Tensor Hinton(Tensor z, Tensor v, Tensor y, double T, double alpha,
        double? power = 2, bool swapAlpha = false, bool hardAtT = false, bool softenTeacher = true, bool reduceMean = false, bool reverse = false, bool detach = true)
    {
        var logQ = F.log_softmax(z.div(T), 1);
        var logP = F.log_softmax((detach ? v.detach() : v).div(softenTeacher ? T : 1), 1);
        var entries = reverse ? logQ.exp().mul(logQ.sub(logP)) : logP.exp().mul(logP.sub(logQ));
        var soft = reduceMean ? entries.mean() : entries.sum().div(z.shape[0]);
        var hard = F.cross_entropy(hardAtT ? z.div(T) : z, y);
        double a = swapAlpha ? 1 - alpha : alpha;
        return soft.mul(Math.Pow(T, power ?? 0)).mul(a).add(hard.mul(1 - a));
    }

    [Fact]
    public void Hinton_loss_reference_answers_pass()
    {
        Passes(DistillationChecks.CheckHintonLoss((z, v, y, T, alpha) => Hinton(z, v, y, T, alpha)));
        Passes(DistillationChecks.CheckHintonLoss((z, v, y, T, alpha) => new HintonKDLoss(T, alpha).call(z, v, y)));
        var crossEntropyForm = DistillationChecks.CheckHintonLoss((z, v, y, T, alpha) => new HintonKDLoss(T, alpha, SoftTargetForm.CrossEntropy).call(z, v, y));
        Passes(crossEntropyForm);
        Assert.Contains("cross-entropy form", crossEntropyForm.Message);
    }

    [Fact]
    public void Hinton_loss_mistakes_are_named()
    {
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, power: 0)), "forgot the T² factor", "16 times");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, power: 1)), "by T instead of T²");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, swapAlpha: true)), "swapped");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, hardAtT: true)), "at T = 1");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, softenTeacher: false)), "Soften the teacher");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, reduceMean: true)), "batchmean");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, reverse: true)), "reversed");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, power: 0, reduceMean: true)), "2 things to fix", "T²", "batchmean");
    }

    [Fact]
    public void Hinton_loss_must_use_its_parameters_and_route_gradients_correctly()
    {
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, 4.0, 0.7)), "not for T = 2.5");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a, detach: false)), "flow into the teacher");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z.detach(), v, y, T, a)), "no gradient");
        FailsWith(DistillationChecks.CheckHintonLoss((z, v, y, T, a) => Hinton(z, v, y, T, a).reshape(1, 1).expand(6, 1).reshape(6)), "one value per example");
    }

    static Tensor SoftLabels(nn.Module<Tensor, Tensor> teacher, Tensor X, double T)
    {
        teacher.eval();
        using var _ = no_grad();
        return F.softmax(teacher.call(X).div(T), 1);
    }

    [Fact]
    public void Teacher_soft_labels_reference_answer_passes()
    {
        Passes(DistillationChecks.CheckTeacherSoftLabels(SoftLabels));
        Passes(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) =>
        {
            teacher.eval();
            using var _ = no_grad();
            return SoftTargets.Probabilities(teacher.call(X), T);
        }));
    }

    [Fact]
    public void Teacher_soft_label_mistakes_are_named()
    {
        FailsWith(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) =>
        {
            using var _ = no_grad();
            return F.softmax(teacher.call(X).div(T), 1);
        }), "training mode", "teacher.eval()");
        FailsWith(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) =>
        {
            teacher.eval();
            return F.softmax(teacher.call(X).div(T), 1);
        }), "no_grad");
        FailsWith(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) => SoftLabels(teacher, X, 1.0)), "forgot the temperature");
        FailsWith(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) => SoftLabels(teacher, X, 1 / T)), "multiplied the logits by T");
        FailsWith(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) => SoftLabels(teacher, X, T).log()), "log-probabilities");
        FailsWith(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) =>
        {
            teacher.eval();
            using var _ = no_grad();
            return teacher.call(X);
        }), "raw logits");
        FailsWith(DistillationChecks.CheckTeacherSoftLabels((teacher, X, T) => SoftLabels(teacher, X, T).t()), "shape [10, 8]");
    }
}

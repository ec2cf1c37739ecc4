using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

using static KnowledgeDistillation.Tests.CheckAssert;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebook 03: right answers pass, and each typical mistake is named.</summary>
public class DivergenceExerciseTests
{
    static Tensor Kl(Tensor p, Tensor q) => xlogy(p, p).sub(xlogy(p, q)).sum().div(p.shape[0]);

    [Fact]
    public void Kl_reference_answers_pass()
    {
        Passes(DivergenceChecks.CheckKl(Kl));
        Passes(DivergenceChecks.CheckKl((p, q) => F.kl_div(q.log(), p, reduction: nn.Reduction.Sum, log_target: false).div(p.shape[0])));
    }

    [Fact]
    public void Kl_mistakes_are_named()
    {
        FailsWith(DivergenceChecks.CheckKl((p, q) => Kl(q, p)), "swapped");
        FailsWith(DivergenceChecks.CheckKl((p, q) => xlogy(p, p).sub(xlogy(p, q)).mean()), "\"mean\"", "batchmean");
        FailsWith(DivergenceChecks.CheckKl((p, q) => xlogy(p, p).sub(xlogy(p, q)).sum()), "summed over the batch");
        FailsWith(DivergenceChecks.CheckKl((p, q) => xlogy(p, q).neg().sum().div(p.shape[0])), "cross entropy", "H(p)");
        FailsWith(DivergenceChecks.CheckKl((p, q) => Kl(p, q).neg()), "sign");
        FailsWith(DivergenceChecks.CheckKl((p, q) => Kl(p, q).div(Math.Log(2))), "base 2");
        FailsWith(DivergenceChecks.CheckKl((p, q) => xlogy(p, p).sub(xlogy(p, q)).sum(1)), "one value per example");
        // Two mistakes at once are both named.
        FailsWith(DivergenceChecks.CheckKl((p, q) => xlogy(q, q).sub(xlogy(q, p)).mean()), "2 things to fix", "swapped", "batchmean");
    }

    [Fact]
    public void Kl_with_a_naive_log_fails_only_on_zeros()
    {
        var result = DivergenceChecks.CheckKl((p, q) => p.mul(p.log().sub(q.log())).sum().div(p.shape[0]));
        FailsWith(result, "exact zero", "NaN", "xlogy");
    }

    [Fact]
    public void Kl_errors_and_unknown_answers_are_reported()
    {
        FailsWith(DivergenceChecks.CheckKl((p, q) => throw new InvalidOperationException("boom")), "InvalidOperationException", "boom");
        FailsWith(DivergenceChecks.CheckKl((p, q) => tensor(42.0)), "gave 42", "averaged over the batch is");
    }

    static Tensor KlDiv(Tensor student, Tensor teacher) =>
        F.kl_div(F.log_softmax(student, 1), F.log_softmax(teacher, 1), reduction: nn.Reduction.Sum, log_target: true).div(student.shape[0]);

    [Fact]
    public void Kl_div_reference_answers_pass()
    {
        Passes(DivergenceChecks.CheckKlDiv(KlDiv));
        Passes(DivergenceChecks.CheckKlDiv((s, t) =>
            F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction: nn.Reduction.Sum, log_target: false).div(s.shape[0])));
        Passes(DivergenceChecks.CheckKlDiv((s, t) => HintonKDLoss.SoftLoss(s, t, 1.0)));
    }

    [Fact]
    public void Kl_div_traps_are_named()
    {
        // TorchSharp's defaults: log_target true and reduction Mean.
        FailsWith(DivergenceChecks.CheckKlDiv((s, t) => F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1))), "2 things to fix", "log_target is true", "B × C");
        FailsWith(DivergenceChecks.CheckKlDiv((s, t) => F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1))), "reduction is Mean", "6 times too small");
        FailsWith(DivergenceChecks.CheckKlDiv((s, t) => KlDiv(t, s)), "swapped", "KL(target ‖ input)");
        FailsWith(DivergenceChecks.CheckKlDiv((s, t) =>
            F.kl_div(s, F.log_softmax(t, 1), reduction: nn.Reduction.Sum, log_target: true).div(s.shape[0])), "raw logits");
        FailsWith(DivergenceChecks.CheckKlDiv((s, t) =>
            F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction: nn.Reduction.Sum, log_target: true)), "divide by the batch size");
        FailsWith(DivergenceChecks.CheckKlDiv((s, t) =>
            F.kl_div(F.log_softmax(s, 1), F.log_softmax(t, 1), reduction: nn.Reduction.Sum, log_target: false).div(s.shape[0])), "NaN", "log_target");
    }

    [Fact]
    public void Reverse_kl_reference_answers_pass_and_mistakes_are_named()
    {
        Passes(DivergenceChecks.CheckReverseKl((s, t) => new ReverseKLLoss().call(s, t)));
        Passes(DivergenceChecks.CheckReverseKl((s, t) => KlDiv(t, s)));
        FailsWith(DivergenceChecks.CheckReverseKl(KlDiv), "forward KL");
        FailsWith(DivergenceChecks.CheckReverseKl((s, t) => F.kl_div(F.log_softmax(t, 1), F.log_softmax(s, 1), log_target: true)), "\"mean\"");
        FailsWith(DivergenceChecks.CheckReverseKl((s, t) => tensor(new double[] { 1, 2 })), "shape [2]");
    }

    [Fact]
    public void Peak_prediction_is_compared_with_the_fit()
    {
        (double, double) OnLeftPeak() => (-2.98, 0.61);
        Passes(DivergenceChecks.CheckPeakPrediction("left", OnLeftPeak));
        Assert.Contains("ended at μ = -2.98, σ = 0.61, on the left peak. Reverse KL has one minimum per peak",
            DivergenceChecks.CheckPeakPrediction("left", OnLeftPeak).Message);
        FailsWith(DivergenceChecks.CheckPeakPrediction("right", OnLeftPeak), "you predicted the right peak", "on the left peak", "one minimum per peak");
        FailsWith(DivergenceChecks.CheckPeakPrediction("both", OnLeftPeak), "you predicted both peaks");
        // The verdict follows the fit it is given: a fit that covers both peaks, or ends on the right one.
        Passes(DivergenceChecks.CheckPeakPrediction("both", () => (0.1, 3.2)));
        Passes(DivergenceChecks.CheckPeakPrediction("right", () => (2.9, 0.6)));
        Assert.DoesNotContain("one minimum per peak", DivergenceChecks.CheckPeakPrediction("right", () => (2.9, 0.6)).Message);
        // Case, spaces and the zh-TW edition's words are accepted.
        Passes(DivergenceChecks.CheckPeakPrediction(" Left ", OnLeftPeak));
        Passes(DivergenceChecks.CheckPeakPrediction("左", OnLeftPeak));
    }

    [Fact]
    public void Without_a_valid_prediction_the_fit_does_not_run()
    {
        (double, double) MustNotRun() => throw new InvalidOperationException("the fit ran");
        var empty = DivergenceChecks.CheckPeakPrediction("", MustNotRun);
        Assert.False(empty.Passed);
        Assert.StartsWith("Not attempted yet: write \"left\", \"right\" or \"both\"", empty.Message);
        Assert.StartsWith("Not attempted yet", DivergenceChecks.CheckPeakPrediction(null, MustNotRun).Message);
        FailsWith(DivergenceChecks.CheckPeakPrediction("middle", MustNotRun), "\"middle\" is not one of \"left\", \"right\" or \"both\"");
    }

    [Fact]
    public void Checks_leave_no_live_tensors_behind()
    {
        DivergenceChecks.CheckKlDiv(KlDiv); // warm-up
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var scope = NewDisposeScope())
        {
            DivergenceChecks.CheckKl(Kl);
            DivergenceChecks.CheckKlDiv((s, t) => KlDiv(t, s));
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}

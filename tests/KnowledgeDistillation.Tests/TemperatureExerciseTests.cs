using TorchSharp;
using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Losses;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebook 02's exercises: right answers pass, and each typical mistake is named.</summary>
public class TemperatureExerciseTests
{
    static void Rejected(CheckResult result, string expectedPhrase)
    {
        Assert.False(result.Passed, $"expected a rejection, got: {result.Message}");
        Assert.StartsWith("Not yet: ", result.Message);
        Assert.Contains(expectedPhrase, result.Message);
    }

    static void Accepted(CheckResult result)
    {
        Assert.True(result.Passed, result.Message);
        Assert.StartsWith("Correct: ", result.Message);
    }

    // ---- softmax with temperature ----

    static Tensor StableSoftmax(Tensor logits, double T)
    {
        var scaled = logits / T;
        var shifted = scaled - scaled.max(-1, keepdim: true).values;
        var e = shifted.exp();
        return e / e.sum(-1, keepdim: true);
    }

    [Fact]
    public void Softmax_accepts_the_library_and_a_stable_hand_written_answer()
    {
        Accepted(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => SoftTargets.Probabilities(z, T)));
        Accepted(TemperatureChecks.CheckSoftmaxWithTemperature(StableSoftmax));
        Accepted(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z / T, -1)));
    }

    [Fact]
    public void Softmax_names_each_mistake()
    {
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z, -1)), "divide the logits by T before the softmax");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z * T, -1)), "do not multiply");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z / T, 0)), "dimension 0");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.log_softmax(z / T, -1)), "log-probabilities");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z, -1) / T), "divided the probabilities by T");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => (z / T).exp()), "do not sum to 1");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => (z / T).exp() / (z / T).exp().sum()), "do not sum to 1");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => (z / T).exp() / (z / T).exp().sum(-1)), "keepdim");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => { var e = (z / T).exp(); return e / e.sum(-1, keepdim: true); }), "exp(200)");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z.div_(T), -1)), "in place");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z / T, -1).sum(-1)), "keepdim: true");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z / T, -1) + 0.001), "do not sum to 1");
        Rejected(TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z / (T + 0.1), -1)), "differ from softmax(logits / T)");
    }

    // ---- the distillation loss ----

    static Tensor Kl(Tensor target, Tensor model) => KLDivergence.BatchMean(F.log_softmax(model, -1), F.log_softmax(target, -1));

    [Fact]
    public void Soft_loss_accepts_the_library_and_a_hand_written_answer()
    {
        Accepted(TemperatureChecks.CheckSoftLoss((z, v, T) => HintonKDLoss.SoftLoss(z, v, T)));
        Accepted(TemperatureChecks.CheckSoftLoss((z, v, T) =>
        {
            var logP = F.log_softmax(v.detach() / T, -1);
            var logQ = F.log_softmax(z / T, -1);
            return (logP.exp() * (logP - logQ)).sum() / z.shape[0] * (T * T);
        }));
    }

    [Fact]
    public void Soft_loss_names_each_mistake()
    {
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach() / T, z / T) * T), "Hinton's factor is T²");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach() / T, z / T)), "forgot the T² factor");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach() / T, z / T) * (T * T * z.shape[0])), "summed over the batch");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach() / T, z / T) * (T * T / z.shape[1])), "averaged over every element");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(z / T, v.detach() / T) * (T * T)), "swapped");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach(), z) * (T * T)), "did not divide the logits by T");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach(), z / T) * (T * T)), "only the student's");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach() / T, z) * (T * T)), "only the teacher's");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => KLDivergence.SoftCrossEntropy(F.log_softmax(z / T, -1), F.softmax(v.detach() / T, -1)) * (T * T)), "cross-entropy form");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => F.kl_div(F.log_softmax(z / T, -1), F.log_softmax(v.detach() / T, -1), log_target: true, reduction: nn.Reduction.None).sum(-1) * (T * T)), "one loss per example");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => (Kl(v.detach() / T, z / T) * (T * T)).detach()), "no gradient");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v / T, z / T) * (T * T)), "teacher.detach()");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => Kl(v.detach() / T, z / T) * (T * T) + 0.5), "expected T²·KL");
        Rejected(TemperatureChecks.CheckSoftLoss((z, v, T) => throw new InvalidOperationException("oops")), "threw InvalidOperationException: oops");
    }

    [Fact]
    public void Checks_leave_no_tensors_behind()
    {
        TemperatureChecks.CheckSoftLoss((z, v, T) => HintonKDLoss.SoftLoss(z, v, T)); // warm up
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        TemperatureChecks.CheckSoftmaxWithTemperature(StableSoftmax);
        TemperatureChecks.CheckSoftLoss((z, v, T) => HintonKDLoss.SoftLoss(z, v, T));
        TemperatureChecks.CheckSoftmaxWithTemperature((z, T) => F.softmax(z, -1));
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}

using TorchSharp;
using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Losses;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebook 01's exercises: right answers pass, and each typical mistake is named.</summary>
public class SoftLabelExerciseTests
{
    static void Rejected(CheckResult result, string expectedPhrase)
    {
        Assert.False(result.Passed, $"expected a rejection, got: {result.Message}");
        Assert.StartsWith("Not yet: ", result.Message);
        Assert.Contains(expectedPhrase, result.Message);
        Assert.Equal(result.Message, result.ToString());
    }

    static void Accepted(CheckResult result)
    {
        Assert.True(result.Passed, result.Message);
        Assert.StartsWith("Correct: ", result.Message);
    }

    // ---- one-hot hard labels ----

    [Fact]
    public void One_hot_accepts_the_library_and_a_hand_written_answer()
    {
        Accepted(SoftLabelChecks.CheckOneHot(SoftLabelStats.OneHot));
        Accepted(SoftLabelChecks.CheckOneHot((y, classes) =>
        {
            var result = zeros(y.shape[0], classes);
            for (int i = 0; i < y.shape[0]; i++) result[i, y[i].item<long>()] = tensor(1f);
            return result;
        }));
    }

    [Fact]
    public void One_hot_names_each_mistake()
    {
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => F.one_hot(y, classes)), "dtype Int64");
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => F.one_hot(y).to_type(ScalarType.Float32)), "one per class, 10");
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => F.one_hot(y, classes).to_type(ScalarType.Float32).t()), "transposed");
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => F.one_hot(y.add(1).remainder(classes), classes).to_type(ScalarType.Float32)), "one column off");
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => y.to_type(ScalarType.Float32)), "should be [5, 10]");
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => y.add_(0).unsqueeze(1).mul(0).expand(-1, classes).to_type(ScalarType.Float32)), "row 0 (label 3)");
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => throw new InvalidOperationException("todo")), "threw InvalidOperationException: todo");
        Rejected(SoftLabelChecks.CheckOneHot((y, classes) => null!), "returned null");
    }

    // ---- entropy ----

    [Fact]
    public void Entropy_accepts_the_library_and_a_clamped_answer()
    {
        Accepted(SoftLabelChecks.CheckEntropy(SoftTargets.Entropy));
        Accepted(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log()).sum(-1).neg()));
    }

    [Fact]
    public void Entropy_names_each_mistake()
    {
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.log()).sum(-1).neg()), "0 · log 0");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log()).sum(-1)), "sign is wrong");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log2()).sum(-1).neg()), "bits");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log10()).sum(-1).neg()), "log base 10");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log()).mean([-1]).neg()), "averaged over the classes");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log()).neg()), "sum them over the classes");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log()).sum().neg()), "the sum of all rows' entropies");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log()).sum(-1).neg().mean()), "the mean over the rows");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.clamp_min_(1e-12).log().mul(p).sum(-1).neg()), "in place");
        Rejected(SoftLabelChecks.CheckEntropy(p => p.mul(p.clamp_min(1e-12).log()).sum(-1).neg().add(0.1)), "for the uniform row");
    }

    // ---- the class-similarity matrix ----

    static Tensor Reference(Tensor p, Tensor y)
    {
        int classes = (int)p.shape[1];
        return stack(Enumerable.Range(0, classes).Select(c => p[y.eq(c)].mean([0])).ToArray());
    }

    [Fact]
    public void Average_soft_labels_accept_the_library_and_a_loop()
    {
        Accepted(SoftLabelChecks.CheckAverageSoftLabels((p, y) => SoftLabelStats.AverageSoftLabels(p, y)));
        Accepted(SoftLabelChecks.CheckAverageSoftLabels(Reference));
    }

    [Fact]
    public void Average_soft_labels_name_each_mistake()
    {
        int Classes(Tensor p) => (int)p.shape[1];
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => Reference(p, y).t()), "swapped");
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => stack(Enumerable.Range(0, Classes(p)).Select(c => p[y.eq(c)].sum([0])).ToArray())), "a sum, not an average");
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => stack(Enumerable.Range(0, Classes(p)).Select(c => p[y.eq(c)].sum([0]).div(y.shape[0])).ToArray())), "divided by N = 12");
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => p.mean([0]).unsqueeze(0).expand(Classes(p), -1)), "all the images");
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => eye(Classes(p))), "average hard label");
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => Reference(p, y)[TensorIndex.Slice(0, 3)]), "should be [4, 4]");
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => Reference(p, y).mul(0.9)), "sum to");
        Rejected(SoftLabelChecks.CheckAverageSoftLabels((p, y) => Reference(p, y).flip(0)), "row 0 is");
    }

    [Fact]
    public void Checks_leave_no_tensors_behind()
    {
        SoftLabelChecks.CheckEntropy(SoftTargets.Entropy); // warm up any lazily created tensors
        using var scope = NewDisposeScope();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        SoftLabelChecks.CheckOneHot(SoftLabelStats.OneHot);
        SoftLabelChecks.CheckEntropy(SoftTargets.Entropy);
        SoftLabelChecks.CheckAverageSoftLabels(Reference);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}

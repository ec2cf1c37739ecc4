using KnowledgeDistillation.Losses;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

public class DistillationObjectiveTests
{
    [Fact]
    public void Cross_entropy_plus_soft_terms_equal_Hinton_KD()
    {
        manual_seed(20);
        var z = randn(16, 10, dtype: ScalarType.Float64);
        var v = randn(16, 10, dtype: ScalarType.Float64);
        var y = randint(0, 10, [16], dtype: ScalarType.Int64);
        const double T = 4, alpha = 0.7;
        var objective = new DistillationObjective(DistillationTerms.CrossEntropy(1 - alpha), DistillationTerms.Soft(T, alpha));
        var value = objective.Compute(new DistillationBatch(z, v, y));
        var hinton = new HintonKDLoss(T, alpha);
        Assert.Equal(hinton.call(z, v, y).item<double>(), value.Total.item<double>(), 1e-12);
        var terms = hinton.Terms(z, v, y);
        Assert.Equal(terms.Hard.item<double>(), value.Terms["ce"].item<double>(), 1e-12);
        Assert.Equal(terms.Soft.item<double>(), value.Terms["kd"].item<double>(), 1e-12);
        Assert.False(value.Terms["kd"].requires_grad);
    }

    [Fact]
    public void Total_is_the_weighted_sum_of_the_reported_terms()
    {
        manual_seed(21);
        var z = randn(8, 10).requires_grad_(true);
        var v = randn(8, 10);
        var fs = randn(8, 4, 7, 7).requires_grad_(true);
        var ft = randn(8, 16, 7, 7);
        var es = randn(8, 32).requires_grad_(true);
        var et = randn(8, 64);
        var hint = new HintLoss(4, 16);
        var objective = new DistillationObjective(
            DistillationTerms.Soft(2, 0.5), DistillationTerms.Hint(hint, 0, 0, 2.0), DistillationTerms.Attention([(0, 0)], 100),
            DistillationTerms.Rkd(1, 1, 0.3), DistillationTerms.Pkt(1, 1, 0.7), DistillationTerms.SimilarityPreserving([(0, 0), (1, 1)], 5));
        var value = objective.Compute(new DistillationBatch(z, v, null, [fs, es], [ft, et]));
        double expected = objective.Terms.Sum(t => t.Weight * value.Terms[t.Name].item<float>());
        Assert.Equal(expected, value.Total.item<float>(), 1e-4);
        Assert.Equal(["kd", "hint", "at", "rkd", "pkt", "sp"], value.Terms.Keys);
        // The FitNets regressor trains with the student: its parameters are exposed and receive gradients.
        Assert.Equal(2, objective.parameters().Count());
        value.Total.backward();
        Assert.All(objective.parameters(), p => Assert.NotNull(p.grad));
    }

    [Fact]
    public void Clear_errors_for_missing_inputs_and_bad_terms()
    {
        var z = randn(4, 10);
        var objective = new DistillationObjective(DistillationTerms.CrossEntropy());
        Assert.Contains("needs labels", Assert.Throws<ArgumentException>(() => objective.Compute(new DistillationBatch(z, z))).Message);
        var at = new DistillationObjective(DistillationTerms.Attention([(2, 0)]));
        var e = Assert.Throws<ArgumentException>(() => at.Compute(new DistillationBatch(z, z, null, [randn(4, 2, 3, 3)], [randn(4, 2, 3, 3)])));
        Assert.Contains("student feature 2", e.Message);
        var at0 = new DistillationObjective(DistillationTerms.Attention([(0, 0)]));
        Assert.Contains("needs the teacher's features", Assert.Throws<ArgumentException>(() => at0.Compute(new DistillationBatch(z, z, null, [randn(4, 2, 3, 3)]))).Message);
        Assert.Throws<ArgumentException>(() => new DistillationObjective(DistillationTerms.Soft(2), DistillationTerms.Soft(4)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationObjective(DistillationTerms.Soft(2, weight: -1)));
        Assert.Throws<InvalidOperationException>(() => new DistillationObjective().Compute(new DistillationBatch(z, z)));
    }
}

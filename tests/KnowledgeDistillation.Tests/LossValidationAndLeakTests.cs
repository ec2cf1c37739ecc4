using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

public class LossValidationTests
{
    static readonly Tensor Z = randn(4, 10);
    static readonly Tensor V = randn(4, 10);
    static readonly Tensor Y = tensor(new long[] { 0, 3, 9, 1 });

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Temperature_must_be_positive_and_finite(double T)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new HintonKDLoss(T: T));
        Assert.Equal("T", e.ParamName);
        Assert.Contains(T.ToString(), e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftTargets.Probabilities(Z, T));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReverseKLLoss(T));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Alpha_must_be_in_0_1(double alpha)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new HintonKDLoss(alpha: alpha));
        Assert.Equal("alpha", e.ParamName);
    }

    [Fact]
    public void Alpha_0_and_1_are_allowed()
    {
        Assert.Equal(0, new HintonKDLoss(alpha: 0).Alpha);
        Assert.Equal(1, new HintonKDLoss(alpha: 1).Alpha);
    }

    [Fact]
    public void Class_counts_must_match()
    {
        var e = Assert.Throws<ArgumentException>(() => new HintonKDLoss().call(Z, randn(4, 100), Y));
        Assert.Contains("teacher has 100 classes but the student has 10", e.Message);
    }

    [Fact]
    public void Batch_sizes_must_match()
    {
        var e = Assert.Throws<ArgumentException>(() => new HintonKDLoss().call(Z, randn(5, 10), Y));
        Assert.Contains("4 rows but the teacher's has 5", e.Message);
    }

    [Fact]
    public void Labels_must_be_in_range_and_int64()
    {
        var e = Assert.Throws<ArgumentException>(() => new HintonKDLoss().call(Z, V, tensor(new long[] { 0, 1, 10, 2 })));
        Assert.Contains("found 10", e.Message);
        e = Assert.Throws<ArgumentException>(() => new HintonKDLoss().call(Z, V, tensor(new long[] { 0, -1, 1, 2 })));
        Assert.Contains("found -1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new HintonKDLoss().call(Z, V, tensor(new int[] { 0, 1, 1, 2 })));
        Assert.Contains("int64", e.Message);
        e = Assert.Throws<ArgumentException>(() => new HintonKDLoss().call(Z, V, tensor(new long[] { 0, 1 })));
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void Logits_must_be_two_dimensional()
    {
        var e = Assert.Throws<ArgumentException>(() => new HintonKDLoss().call(randn(4, 10, 2), randn(4, 10, 2), Y));
        Assert.Contains("[batch, classes]", e.Message);
    }

    [Fact]
    public void Feature_losses_name_the_mismatched_shapes()
    {
        var hint = new HintLoss(8, 32);
        var e = Assert.Throws<ArgumentException>(() => hint.call(randn(2, 8, 14, 14), randn(2, 32, 7, 7)));
        Assert.Contains("[2, 8, 14, 14]", e.Message);
        Assert.Contains("[2, 32, 7, 7]", e.Message);
        e = Assert.Throws<ArgumentException>(() => hint.call(randn(2, 16, 14, 14), randn(2, 32, 14, 14)));
        Assert.Contains("8 channels", e.Message);
        e = Assert.Throws<ArgumentException>(() => new CosineHiddenLoss().call(randn(2, 3), randn(2, 7)));
        Assert.Contains("not a multiple", e.Message);
        e = Assert.Throws<ArgumentException>(() => new RkdDistanceLoss().call(randn(2, 3), randn(3, 3)));
        Assert.Contains("batch", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GeneralizedJSDLoss(beta: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GeneralizedJSDLoss(beta: 1));
    }

    [Fact]
    public void Token_mask_must_match_positions()
    {
        var e = Assert.Throws<ArgumentException>(() => new ReverseKLLoss().Compute(randn(2, 3, 5), randn(2, 3, 5), ones(3, 2)));
        Assert.Contains("[2, 3]", e.Message);
        // A mask that weighs nothing gives 0/0 = NaN in every token loss, unchecked: a check would make each step wait for the device.
        Assert.True(double.IsNaN(new ReverseKLLoss().Compute(randn(2, 3, 5), randn(2, 3, 5), zeros(2, 3)).item<float>()));
        Assert.True(double.IsNaN(new GeneralizedJSDLoss().Compute(randn(2, 3, 5), randn(2, 3, 5), zeros(2, 3)).item<float>()));
        Assert.True(double.IsNaN(new TokenKDLoss(2, 0.5).Compute(randn(2, 3, 5), randn(2, 3, 5), zeros(2, 3, dtype: ScalarType.Int64), zeros(2, 3)).item<float>()));
    }
}

/// <summary>Every loss, called inside a dispose scope, leaves no live tensor behind (TorchSharp's own statistics).</summary>
public class LossLeakTests
{
    public static TheoryData<string> Losses() =>
        ["soft", "kl", "hinton", "logits", "reverse-kl", "jsd", "hint", "at", "cosine", "rkd-distance", "rkd-angle", "sp", "pkt", "objective"];

    [Theory]
    [MemberData(nameof(Losses))]
    public void Loss_and_backward_inside_a_scope_leak_nothing(string name)
    {
        manual_seed(12);
        var z = randn(8, 10).requires_grad_(true);
        var v = randn(8, 10);
        var y = randint(0, 10, [8], dtype: ScalarType.Int64);
        var fs = randn(8, 4, 7, 7).requires_grad_(true);
        var ft = randn(8, 16, 7, 7);
        var tokensS = randn(2, 4, 10).requires_grad_(true);
        var tokensT = randn(2, 4, 10);
        var hint = new HintLoss(4, 16);
        var objective = new DistillationObjective(DistillationTerms.CrossEntropy(0.1), DistillationTerms.Soft(4, 0.9),
            DistillationTerms.Hint(hint, 0, 0), DistillationTerms.SimilarityPreserving([(0, 0)]));
        var modules = new Dictionary<string, Func<Tensor>>
        {
            ["soft"] = () => SoftTargets.Probabilities(z, 4).sum(),
            ["kl"] = () => KLDivergence.BatchMean(SoftTargets.LogProbabilities(z), SoftTargets.LogProbabilities(v)),
            ["hinton"] = () => new HintonKDLoss().call(z, v, y),
            ["logits"] = () => new LogitMatchingLoss(LogitMatching.HintonLimit).call(z, v),
            ["reverse-kl"] = () => new ReverseKLLoss().Compute(tokensS, tokensT, ones(2, 4)),
            ["jsd"] = () => new GeneralizedJSDLoss(0.3).call(tokensS, tokensT),
            ["hint"] = () => hint.call(fs, ft),
            ["at"] = () => new AttentionTransferLoss().call(fs, ft),
            ["cosine"] = () => new CosineHiddenLoss().call(fs, ft),
            ["rkd-distance"] = () => new RkdDistanceLoss().call(fs, ft),
            ["rkd-angle"] = () => new RkdAngleLoss().call(fs, ft),
            ["sp"] = () => new SimilarityPreservingLoss().call(fs, ft),
            ["pkt"] = () => new PktLoss().call(fs, ft),
            ["objective"] = () => objective.Compute(new DistillationBatch(z, v, y, [fs], [ft])).Total,
        };
        // Warm up once (first calls may cache tensors inside TorchSharp), then measure.
        using (NewDisposeScope()) modules[name]().backward();

        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            using var scope = NewDisposeScope();
            modules[name]().backward();
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void The_leak_measurement_sees_a_tensor_that_escapes_its_scope()
    {
        // Proof that the test above can fail: a tensor detached from its scope stays alive and is counted.
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Tensor escaped;
        using (NewDisposeScope()) escaped = ones(3).DetachFromDisposeScope();
        Assert.Equal(before + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        escaped.Dispose();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}

using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

using static KnowledgeDistillation.Tests.CheckAssert;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebooks 05 and 06: right answers pass, and each typical mistake is named.</summary>
public class FeatureAndRelationExerciseTests
{

    static Tensor Map(Tensor f) => F.normalize(f.abs().pow(2).mean([1]).flatten(1), p: 2, dim: 1);

    [Fact]
    public void Attention_map_right_answers_pass()
    {
        Passes(FeatureChecks.CheckAttentionMap(Map));
        Passes(FeatureChecks.CheckAttentionMap(f => new AttentionTransferLoss().AttentionMap(f)));
        Passes(FeatureChecks.CheckAttentionMap(f => F.normalize(f.pow(2).mean([1]).reshape(f.shape[0], -1), p: 2, dim: 1)));
        Passes(FeatureChecks.CheckAttentionMap(f => F.normalize(f.pow(2).sum([1]).flatten(1), p: 2, dim: 1))); // same after normalising
    }

    [Fact]
    public void Attention_map_mistakes_are_named()
    {
        FailsWith(FeatureChecks.CheckAttentionMap(f => F.normalize(f.abs().mean([1]).flatten(1), p: 2, dim: 1)), "|f|, not |f|²");
        FailsWith(FeatureChecks.CheckAttentionMap(f => F.normalize(f.mean([1]).flatten(1), p: 2, dim: 1)), "cancel");
        FailsWith(FeatureChecks.CheckAttentionMap(f => f.pow(2).mean([1]).flatten(1)), "not normalised");
        FailsWith(FeatureChecks.CheckAttentionMap(f => { var m = f.pow(2).mean([1]).flatten(1); return m.div(m.sum(1, keepdim: true)); }), "L1");
        FailsWith(FeatureChecks.CheckAttentionMap(f => F.normalize(f.pow(2).mean([1]).flatten(1), p: 2, dim: 0)), "across the batch");
        FailsWith(FeatureChecks.CheckAttentionMap(f => F.normalize(f.pow(2).mean([1]), p: 2, dim: 2)), "flatten");
        FailsWith(FeatureChecks.CheckAttentionMap(f => F.normalize(f.pow(2).mean([2, 3]), p: 2, dim: 1)), "averaged over the positions");
        FailsWith(FeatureChecks.CheckAttentionMap(f => F.normalize(f.abs().mean([1]).flatten(1), p: 2, dim: 0)), "2 things to fix");
        FailsWith(FeatureChecks.CheckAttentionMap(f => Map(f).add(0.01)), "differ from the attention map");
        FailsWith(FeatureChecks.CheckAttentionMap(_ => throw new InvalidOperationException("boom")), "threw", "boom");
    }

    [Fact]
    public void Hint_loss_right_answers_pass()
    {
        Passes(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(r.call(s), t.detach())));
        Passes(FeatureChecks.CheckHintLoss((s, t, r) => r.call(s).sub(t.detach()).pow(2).mean()));
    }

    [Fact]
    public void Hint_loss_mistakes_are_named()
    {
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(r.call(s), t)), "flow into the teacher");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => r.call(s).sub(t.detach()).abs().mean()), "absolute error");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(r.call(s), t.detach()).sqrt()), "square root");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => r.call(s).sub(t.detach()).pow(2).sum()), "summed the squared errors");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => r.call(s).sub(t.detach()).pow(2).sum().mul(0.5)), "½‖u − r(v)‖²");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(s, t)), "threw", "regressor maps the student's");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(r.call(t), s)), "threw");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => F.mse_loss(r.call(s.detach()), t.detach())), "no gradient reaches the student");
        FailsWith(FeatureChecks.CheckHintLoss((s, t, r) => r.call(s).sub(t.detach()).pow(2).mean([1])), "one number");
    }

    static Tensor Distances(Tensor e)
    {
        long b = e.shape[0];
        var d = e.unsqueeze(0).sub(e.unsqueeze(1)).pow(2).sum(2).sqrt();
        return d.div(d.sum().div(b * (b - 1)));
    }

    [Fact]
    public void Normalised_distances_right_answers_pass()
    {
        Passes(RelationChecks.CheckNormalisedDistances(Distances));
        Passes(RelationChecks.CheckNormalisedDistances(RkdDistanceLoss.NormalisedDistances));
        Passes(RelationChecks.CheckNormalisedDistances(e => { var d = cdist(e, e); return d.div(d.sum().div(e.shape[0] * (e.shape[0] - 1))); }));
    }

    [Fact]
    public void Normalised_distance_mistakes_are_named()
    {
        FailsWith(RelationChecks.CheckNormalisedDistances(e => { var d = cdist(e, e).pow(2); return d.div(d.sum().div(20)); }), "squared distances");
        FailsWith(RelationChecks.CheckNormalisedDistances(e => cdist(e, e)), "not normalised");
        FailsWith(RelationChecks.CheckNormalisedDistances(e => { var d = cdist(e, e); return d.div(d.mean()); }), "B² = 25", "B·(B − 1) = 20");
        FailsWith(RelationChecks.CheckNormalisedDistances(e => { var d = cdist(e, e); return d.div(d.max()); }), "largest distance");
        FailsWith(RelationChecks.CheckNormalisedDistances(e => { var d = e.matmul(e.t()); return d.div(d.sum().div(20)); }), "dot products");
        FailsWith(RelationChecks.CheckNormalisedDistances(e => cdist(e.t(), e.t())), "not the examples");
        FailsWith(RelationChecks.CheckNormalisedDistances(e => cdist(e, e).pow(2)), "2 things to fix");
    }

    [Fact]
    public void Similarity_right_answers_pass()
    {
        Passes(RelationChecks.CheckSimilarity(SimilarityPreservingLoss.Similarity));
        Passes(RelationChecks.CheckSimilarity(f => { var a = f.reshape(f.shape[0], -1); var g = a.matmul(a.t()); return g.div(g.pow(2).sum(1, keepdim: true).sqrt()); }));
    }

    [Fact]
    public void Similarity_mistakes_are_named()
    {
        FailsWith(RelationChecks.CheckSimilarity(f => { var a = F.normalize(f.flatten(1), p: 2, dim: 1); return a.matmul(a.t()); }), "cosine similarities", "not normalised");
        FailsWith(RelationChecks.CheckSimilarity(f => { var a = f.flatten(1); return a.matmul(a.t()); }), "not normalised");
        FailsWith(RelationChecks.CheckSimilarity(f => { var a = f.flatten(1); var g = a.matmul(a.t()); return g.div(g.norm()); }), "one norm");
        FailsWith(RelationChecks.CheckSimilarity(f => { var a = f.flatten(1); var g = a.matmul(a.t()); return g.div(g.sum(1, keepdim: true)); }), "(L1)");
        FailsWith(RelationChecks.CheckSimilarity(f => { var a = f.flatten(1); return F.normalize(a.t().matmul(a), p: 2, dim: 1); }), "A·Aᵀ");
    }
}

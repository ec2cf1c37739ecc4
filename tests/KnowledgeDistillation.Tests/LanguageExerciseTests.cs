using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Language;
using KnowledgeDistillation.Losses;
using TorchSharp;
using static KnowledgeDistillation.Tests.CheckAssert;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebook 08: right answers pass, and each typical mistake is named.</summary>
public class LanguageExerciseTests
{
    static Tensor TokenKD(Tensor z, Tensor v, Tensor mask, double T, bool useMask = true, double power = 2, bool reverse = false, bool meanVocab = false, bool detach = true)
    {
        var logQ = F.log_softmax(z.div(T), -1);
        var logP = F.log_softmax((detach ? v.detach() : v).div(T), -1);
        var entries = reverse ? logQ.exp().mul(logQ.sub(logP)) : logP.exp().mul(logP.sub(logQ));
        var perPosition = meanVocab ? entries.mean([-1]) : entries.sum(-1);
        var reduced = useMask ? perPosition.mul(mask).sum().div(mask.sum()) : perPosition.mean();
        return reduced.mul(Math.Pow(T, power));
    }

    [Fact]
    public void Token_KD_right_answers_pass()
    {
        Passes(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T)));
        Passes(LanguageChecks.CheckTokenKD((z, v, m, T) => new TokenKDLoss(T).Compute(z, v, null, m)));
    }

    [Fact]
    public void Token_KD_mistakes_are_named()
    {
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, useMask: false)), "mask was ignored");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T).mul(m.sum()).div(m.numel())), "divided by the number of all positions");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, power: 0)), "forgot the T² factor");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, power: 1)), "by T instead of T²");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, reverse: true)), "reversed");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, meanVocab: true)), "averaged over the vocabulary");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, detach: false)), "flow into the teacher");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, useMask: false, power: 0)), "2 things to fix");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T).add(0.5)), "token-level KD loss is");
        FailsWith(LanguageChecks.CheckTokenKD((z, v, m, T) => TokenKD(z, v, m, T, useMask: false).unsqueeze(0).repeat(3)), "one number");
    }

    static IReadOnlyList<int> Filter(IReadOnlyList<AdditionProblem> problems, IReadOnlyList<string> completions) =>
        [.. Enumerable.Range(0, problems.Count).Where(i => AdditionTask.ExtractAnswer(completions[i]) == problems[i].Sum)];

    [Fact]
    public void Rejection_filter_right_answers_pass_and_a_stricter_one_is_explained()
    {
        var result = LanguageChecks.CheckRejectionFilter(Filter);
        Passes(result);
        Assert.Contains("cannot see that", result.Message);
        // Stricter: also checks each step of the chain (drops the chain with a wrong step but the right answer).
        var strict = LanguageChecks.CheckRejectionFilter((p, c) => [.. Filter(p, c).Where(i => !c[i].StartsWith("5+7+0=11", StringComparison.Ordinal))]);
        Passes(strict);
        Assert.Contains("stricter", strict.Message);
    }

    [Fact]
    public void Rejection_filter_mistakes_are_named()
    {
        FailsWith(LanguageChecks.CheckRejectionFilter((p, c) => [.. Enumerable.Range(0, p.Count)]), "final answer is wrong", "not a prefix", "unfinished");
        FailsWith(LanguageChecks.CheckRejectionFilter((p, c) => [.. Enumerable.Range(0, p.Count).Where(i => c[i].Contains($"ans {p[i].Sum}"))]), "not a prefix or substring");
        FailsWith(LanguageChecks.CheckRejectionFilter((p, c) => [.. Filter(p, c).Skip(1)]), "dropped a correct chain");
        FailsWith(LanguageChecks.CheckRejectionFilter((p, c) => [.. Enumerable.Range(0, p.Count).Where(i => long.Parse(c[i][(c[i].LastIndexOf("ans ") + 4)..]) == p[i].Sum)]), "threw", "unfinished");
        FailsWith(LanguageChecks.CheckRejectionFilter((p, c) => [99]), "index 99");
    }
}

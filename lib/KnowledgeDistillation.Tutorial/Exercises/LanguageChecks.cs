using KnowledgeDistillation.Language;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 08 (distilling a language model): the learner's token-level KD loss and
/// the learner's rejection-sampling filter. Each names the mistake it finds.
/// </summary>
public static class LanguageChecks
{
    const int Batch = 2, Length = 5, Vocabulary = 6;

    /// <summary>
    /// Checks <c>myTokenKD(studentLogits, teacherLogits, mask, T)</c> for logits [B, L, V] and a 0/1 mask [B, L]:
    /// <c>T² · KL(p_T ‖ q_T)</c>, summed over the vocabulary and averaged over the positions the mask keeps, as
    /// <see cref="Losses.TokenKDLoss"/> with α = 1 computes it. It also checks that the teacher gets no gradient.
    /// </summary>
    public static CheckResult CheckTokenKD(Func<Tensor, Tensor, Tensor, double, Tensor> myTokenKD)
    {
        ArgumentNullException.ThrowIfNull(myTokenKD);
        using var scope = NewDisposeScope();
        const double T = 2.0;
        using var generator = new Generator(81);
        var z = randn(Batch, Length, Vocabulary, dtype: ScalarType.Float64, generator: generator).mul(2);
        var v = randn(Batch, Length, Vocabulary, dtype: ScalarType.Float64, generator: generator).mul(3);
        // Prompt positions (the first one or two of each row) and one padding position are dropped: 6 of 10 kept.
        var mask = tensor(new double[,] { { 0, 0, 1, 1, 1 }, { 0, 1, 1, 1, 0 } }, dtype: ScalarType.Float64);
        var (value, failure) = MistakeFinder.Call(() => myTokenKD(z.clone(), v.clone(), mask.clone(), T), "MyTokenKD");
        if (failure is not null) return failure;
        if (value!.numel() != 1)
            return new CheckResult(false, $"Not yet: MyTokenKD returned shape [{string.Join(", ", value.shape)}]; average over the kept positions to get one number.");

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new($"The mask was ignored: every position was averaged, the prompt's and the padding's too. Keep only the completion's positions: multiply the per-position KL by the mask and divide by mask.sum() ({mask.sum().item<double>()} kept of {Batch * Length})."),
             new("You multiplied by the mask but divided by the number of all positions; divide by the number of kept positions, mask.sum().")],
            [Choice.Right,
             new($"You forgot the T² factor: at T = {T} the gradients come out {T * T} times too small (notebook 02)."),
             new("You multiplied by T instead of T².")],
            [Choice.Right, new("The KL is reversed: token-level KD as in Hinton and in Kim and Rush uses KL(p_teacher ‖ q_student) = Σ p (log p − log q), the teacher first.")],
            [Choice.Right, new($"You averaged over the vocabulary ({Vocabulary} tokens here) instead of summing: the KL of one position is a sum over the next-token distribution.")],
            [Choice.Right,
             new("Soften both distributions: divide the student's and the teacher's logits by T before the softmax."),
             new("Soften the teacher too: its probabilities are softmax(teacherLogits / T).")],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => TokenVariant(z, v, mask, T, c), value);
        var verdict = MistakeFinder.Verdict(explained, "T² · KL(p_T ‖ q_T) summed over the vocabulary and averaged over the kept positions.",
            $"MyTokenKD gave {value.item<double>():G6}, but the token-level KD loss is {TokenVariant(z, v, mask, T, new int[5]).item<double>():G6}. " +
            "Compute log_softmax(z / T) and log_softmax(v / T), the KL per position (sum over the last dimension), keep the masked positions, average them, and multiply by T².");
        if (!verdict.Passed) return verdict;

        var flow = MistakeFinder.GradientFlow((student, teacher) => myTokenKD(student, teacher, mask.clone(), T), z, v, "MyTokenKD", "logits",
            "the value is right but carries no gradient to the student's logits.",
            "the value is right, but gradients flow into the teacher's logits. Detach them: the teacher is frozen.");
        if (flow is not null) return flow;
        return new CheckResult(true, verdict.Message + " The student gets gradients and the teacher none.");
    }

    /// <summary>The problems and teacher completions the rejection-filter check uses, with what each case tests.</summary>
    static readonly (AdditionProblem Problem, string Completion, string Case)[] FilterCases =
    [
        (new(47, 85), "7+5+0=12;4+8+1=13;ans 132", "correct"),
        (new(36, 41), "6+1+0=07;3+4+0=07;ans 78", "wrong"),
        (new(6, 7), "6+7+0=13;ans 131", "prefix"),
        (new(58, 67), "8+7+0=15;5+6+1=12;ans", "unfinished"),
        (new(19, 24), "9+4+0=13;1+2+1=04;ans 43", "correct"),
        (new(25, 37), "5+7+0=11;2+3+1=06;ans 62", "lucky"),
        (new(123, 456), "3+6+0=09;2+5+0=07;1+4+0=05;ans 579", "correct"),
        (new(9, 9), "9+9+0=18;ans 18", "correct"),
    ];

    /// <summary>
    /// Checks <c>myFilter(problems, completions)</c>, which should return the indices of the completions to keep for
    /// sequence-level KD: those whose final answer (the number after the last <c>ans </c>) equals the problem's sum, as
    /// DeepSeek-R1's rule-based filter and <see cref="LmTrainer.SampleCorrectChains"/> keep them.
    /// </summary>
    public static CheckResult CheckRejectionFilter(Func<IReadOnlyList<AdditionProblem>, IReadOnlyList<string>, IReadOnlyList<int>> myFilter)
    {
        ArgumentNullException.ThrowIfNull(myFilter);
        IReadOnlyList<int>? kept;
        try
        {
            kept = myFilter([.. FilterCases.Select(c => c.Problem)], [.. FilterCases.Select(c => c.Completion)]);
        }
        catch (Exception e)
        {
            return LearnerCode.Threw("MyFilter", e,
                " (Some completions are unfinished, for example \"…;ans\" with no number: treat a completion you cannot read as wrong instead of parsing it blindly.)");
        }
        if (kept is null) return new CheckResult(false, "Not yet: MyFilter returned null; return the indices of the completions to keep.");
        var set = kept.ToHashSet();
        if (set.Any(i => i < 0 || i >= FilterCases.Length))
            return new CheckResult(false, $"Not yet: MyFilter returned index {set.First(i => i < 0 || i >= FilterCases.Length)}; return positions in the list, 0 to {FilterCases.Length - 1}.");
        bool Kept(string kind) => Enumerable.Range(0, FilterCases.Length).Where(i => FilterCases[i].Case == kind).All(set.Contains);
        bool AnyKept(string kind) => Enumerable.Range(0, FilterCases.Length).Where(i => FilterCases[i].Case == kind).Any(set.Contains);

        var problems = new List<string>();
        if (!Kept("correct"))
            problems.Add("You dropped a correct chain, for example \"47+85=\" → \"…;ans 132\". Keep every completion whose final answer equals the sum.");
        if (AnyKept("wrong"))
            problems.Add("You kept a chain whose final answer is wrong (\"36+41=\" → \"…;ans 78\"). Compare the final answer with problem.Sum.");
        if (AnyKept("prefix"))
            problems.Add("You kept \"6+7=\" → \"…;ans 131\": its answer starts with the right digits, 13, but is 131. Compare the whole number after the last \"ans \", not a prefix or substring.");
        if (AnyKept("unfinished"))
            problems.Add("You kept an unfinished chain (\"…;ans\" with no number). A completion without a readable final answer cannot be checked, so drop it.");
        if (problems.Count > 0) return MistakeFinder.Reject(problems);
        if (!AnyKept("lucky"))
            return new CheckResult(true, "Correct, and stricter than DeepSeek-R1's filter: you also dropped \"25+37=\" → \"5+7+0=11;…;ans 62\", whose final answer is right although a step is wrong " +
                "(5 + 7 = 12). Checking every step needs a checker for the reasoning; R1's rule-based filter checked only final answers, so such chains get into the training data.");
        return new CheckResult(true, "Correct: you kept exactly the completions whose final answer is right. Note that \"25+37=\" → \"5+7+0=11;…;ans 62\" was kept although one step is wrong " +
            "(5 + 7 = 12): a filter on final answers, like DeepSeek-R1's, cannot see that.");
    }

    // choices: mask (kept mean, ignored, divided by all), factor (T², 1, T), direction (forward, reverse), vocabulary (sum, mean), softening (both, student only)
    static Tensor TokenVariant(Tensor z, Tensor v, Tensor mask, double T, int[] c)
    {
        var logQ = F.log_softmax(z.div(T), -1);
        var logP = F.log_softmax(c[4] == 2 ? v : v.div(T), -1);
        if (c[4] == 1) logQ = F.log_softmax(z, -1);
        if (c[4] == 1) logP = F.log_softmax(v, -1);
        var (logFirst, logSecond) = c[2] == 0 ? (logP, logQ) : (logQ, logP);
        var entries = logFirst.exp().mul(logFirst.sub(logSecond));
        var perPosition = c[3] == 0 ? entries.sum(-1) : entries.mean([-1]);
        var reduced = c[0] switch
        {
            0 => perPosition.mul(mask).sum().div(mask.sum()),
            1 => perPosition.mean(),
            _ => perPosition.mul(mask).sum().div(mask.numel()),
        };
        double factor = c[1] switch { 0 => T * T, 1 => 1, _ => T };
        return reduced.mul(factor);
    }
}

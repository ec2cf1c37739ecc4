using KnowledgeDistillation.Language;
using TorchSharp;
using static KnowledgeDistillation.Exercises.Localized;
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
            return LearnerCode.Fail(Say($"MyTokenKD returned shape [{string.Join(", ", value.shape)}]; average over the kept positions to get one number.",
                $"MyTokenKD 傳回的形狀是 [{string.Join(", ", value.shape)}]；請對保留的位置取平均，得到單一數值。"));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new(Say($"The mask was ignored: every position was averaged, the prompt's and the padding's too. Keep only the completion's positions: multiply the per-position KL by the mask and divide by mask.sum() ({mask.sum().item<double>()} kept of {Batch * Length}).",
                 $"遮罩被忽略了：所有位置都被平均了，連提示詞與填充（padding）的位置也算進去。請只保留補全的位置：把每個位置的 KL 乘以遮罩，再除以 mask.sum()（{Batch * Length} 個位置中保留 {mask.sum().item<double>()} 個）。")),
             new(Say("You multiplied by the mask but divided by the number of all positions; divide by the number of kept positions, mask.sum().",
                 "你乘上了遮罩，卻除以所有位置的數量；請除以保留的位置數 mask.sum()。"))],
            [Choice.Right,
             new(Say($"You forgot the T² factor: at T = {T} the gradients come out {T * T} times too small (notebook 02).",
                 $"你忘了 T² 因子：在 T = {T} 時梯度小了 {T * T} 倍（筆記本 02）。")),
             new(Say("You multiplied by T instead of T².", "你乘的是 T，而不是 T²。"))],
            [Choice.Right, new(Say("The KL is reversed: token-level KD as in Hinton and in Kim and Rush uses KL(p_teacher ‖ q_student) = Σ p (log p − log q), the teacher first.",
                "KL 的方向反了：Hinton 以及 Kim 與 Rush 的詞元層級知識蒸餾使用 KL(p_teacher ‖ q_student) = Σ p (log p − log q)，教師在前。"))],
            [Choice.Right, new(Say($"You averaged over the vocabulary ({Vocabulary} tokens here) instead of summing: the KL of one position is a sum over the next-token distribution.",
                $"你對詞彙表（這裡有 {Vocabulary} 個詞元）取了平均，而不是加總：一個位置的 KL 是對下一個詞元的分布加總。"))],
            [Choice.Right,
             new(Say("Soften both distributions: divide the student's and the teacher's logits by T before the softmax.",
                 "兩個分布都要軟化：請在 softmax 之前把學生與教師的邏輯值都除以 T。")),
             new(Say("Soften the teacher too: its probabilities are softmax(teacherLogits / T).", "教師也要軟化：它的機率是 softmax(teacherLogits / T)。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => TokenVariant(z, v, mask, T, c), value);
        var verdict = MistakeFinder.Verdict(explained, Say("T² · KL(p_T ‖ q_T) summed over the vocabulary and averaged over the kept positions.",
            "T² · KL(p_T ‖ q_T)，對詞彙表加總，並對保留的位置取平均。"),
            Say($"MyTokenKD gave {value.item<double>():G6}, but the token-level KD loss is {TokenVariant(z, v, mask, T, new int[5]).item<double>():G6}. ",
                $"MyTokenKD 得到 {value.item<double>():G6}，但詞元層級知識蒸餾損失是 {TokenVariant(z, v, mask, T, new int[5]).item<double>():G6}。") +
            Say("Compute log_softmax(z / T) and log_softmax(v / T), the KL per position (sum over the last dimension), keep the masked positions, average them, and multiply by T².",
                "請計算 log_softmax(z / T) 與 log_softmax(v / T)、每個位置的 KL（對最後一個維度加總），保留遮罩選出的位置並取平均，再乘以 T²。"));
        if (!verdict.Passed) return verdict;

        var flow = MistakeFinder.GradientFlow((student, teacher) => myTokenKD(student, teacher, mask.clone(), T), z, v, "MyTokenKD", Say("logits", "邏輯值"),
            Say("the value is right but carries no gradient to the student's logits.", "數值是對的，但沒有把梯度傳到學生的邏輯值。"),
            Say("the value is right, but gradients flow into the teacher's logits. Detach them: the teacher is frozen.",
                "數值是對的，但梯度流進了教師的邏輯值。請 detach 它們：教師是凍結的。"));
        if (flow is not null) return flow;
        return new CheckResult(true, verdict.Message + Say(" The student gets gradients and the teacher none.", "學生得到梯度，教師則沒有。"));
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
                Say(" (Some completions are unfinished, for example \"…;ans\" with no number: treat a completion you cannot read as wrong instead of parsing it blindly.)",
                    "（有些補全沒有完成，例如沒有數字的「…;ans」：讀不出答案的補全請當作錯誤，而不是盲目地解析它。）"));
        }
        if (kept is null) return LearnerCode.Fail(Say("MyFilter returned null; return the indices of the completions to keep.",
            "MyFilter 傳回了 null；請傳回要保留的補全的索引。"));
        var set = kept.ToHashSet();
        if (set.Any(i => i < 0 || i >= FilterCases.Length))
            return LearnerCode.Fail(Say($"MyFilter returned index {set.First(i => i < 0 || i >= FilterCases.Length)}; return positions in the list, 0 to {FilterCases.Length - 1}.",
                $"MyFilter 傳回了索引 {set.First(i => i < 0 || i >= FilterCases.Length)}；請傳回清單中的位置，從 0 到 {FilterCases.Length - 1}。"));
        bool Kept(string kind) => Enumerable.Range(0, FilterCases.Length).Where(i => FilterCases[i].Case == kind).All(set.Contains);
        bool AnyKept(string kind) => Enumerable.Range(0, FilterCases.Length).Where(i => FilterCases[i].Case == kind).Any(set.Contains);

        var problems = new List<string>();
        if (!Kept("correct"))
            problems.Add(Say("You dropped a correct chain, for example \"47+85=\" → \"…;ans 132\". Keep every completion whose final answer equals the sum.",
                "你丟掉了一條正確的思維鏈，例如「47+85=」→「…;ans 132」。請保留每一個最終答案等於和的補全。"));
        if (AnyKept("wrong"))
            problems.Add(Say("You kept a chain whose final answer is wrong (\"36+41=\" → \"…;ans 78\"). Compare the final answer with problem.Sum.",
                "你保留了一條最終答案錯誤的思維鏈（「36+41=」→「…;ans 78」）。請把最終答案與 problem.Sum 比較。"));
        if (AnyKept("prefix"))
            problems.Add(Say("You kept \"6+7=\" → \"…;ans 131\": its answer starts with the right digits, 13, but is 131. Compare the whole number after the last \"ans \", not a prefix or substring.",
                "你保留了「6+7=」→「…;ans 131」：它的答案開頭是正確的數字 13，但實際是 131。請比較最後一個「ans 」之後的完整數字，而不是前綴或子字串。"));
        if (AnyKept("unfinished"))
            problems.Add(Say("You kept an unfinished chain (\"…;ans\" with no number). A completion without a readable final answer cannot be checked, so drop it.",
                "你保留了一條未完成的思維鏈（沒有數字的「…;ans」）。讀不出最終答案的補全無法檢查，所以請丟掉它。"));
        if (problems.Count > 0) return MistakeFinder.Reject(problems);
        if (!AnyKept("lucky"))
            return new CheckResult(true, Say(
                "Correct, and stricter than DeepSeek-R1's filter: you also dropped \"25+37=\" → \"5+7+0=11;…;ans 62\", whose final answer is right although a step is wrong " +
                "(5 + 7 = 12). Checking every step needs a checker for the reasoning; R1's rule-based filter checked only final answers, so such chains get into the training data.",
                "正確，而且比 DeepSeek-R1 的篩選器更嚴格：你也丟掉了「25+37=」→「5+7+0=11;…;ans 62」，它的最終答案正確，但有一個步驟是錯的" +
                "（5 + 7 = 12）。要檢查每個步驟，就需要一個檢查推理過程的工具；R1 的規則式篩選器只檢查最終答案，所以這類思維鏈會混進訓練資料。"));
        return LearnerCode.Pass(Say(
            "you kept exactly the completions whose final answer is right. Note that \"25+37=\" → \"5+7+0=11;…;ans 62\" was kept although one step is wrong " +
            "(5 + 7 = 12): a filter on final answers, like DeepSeek-R1's, cannot see that.",
            "你保留的恰好是最終答案正確的那些補全。請注意，「25+37=」→「5+7+0=11;…;ans 62」被保留了，儘管它有一個步驟是錯的" +
            "（5 + 7 = 12）：只看最終答案的篩選器（例如 DeepSeek-R1 的）看不出這一點。"));
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

using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Exercises;

/// <summary>One way to compute part of an answer: the right way (<see cref="Mistake"/> null) or a known mistake.</summary>
/// <param name="Mistake">What is wrong with this choice, addressed to the learner; null for the right choice.</param>
/// <param name="Acceptable">A different but equally valid choice (its message is a remark, not an error).</param>
sealed record Choice(string? Mistake, bool Acceptable = false)
{
    public static readonly Choice Right = new((string?)null);
}

/// <summary>
/// Explains a wrong answer by search: each dimension lists the right way and known mistakes for one part of the
/// computation; every combination is computed, and the one with the fewest mistakes that reproduces the learner's
/// value names what went wrong. The inputs are random float64 tensors, so an accidental match is practically impossible.
/// </summary>
static class MistakeFinder
{
    /// <summary>Tolerances for float64 answers: loose enough for any order of summation, tight enough to tell variants apart.</summary>
    public const double Rtol = 1e-6, Atol = 1e-9;

    /// <summary>Calls the learner's function; an exception becomes a failed check naming it.</summary>
    public static (Tensor? Value, CheckResult? Failure) Call(Func<Tensor> answer, string function)
    {
        try
        {
            var value = answer();
            return value is null ? (null, LearnerCode.ReturnedNull(function)) : (value, null);
        }
        catch (Exception e)
        {
            return (null, LearnerCode.Threw(function, e));
        }
    }

    /// <summary>
    /// Calls the learner's loss once more, on copies of <paramref name="student"/> and <paramref name="teacher"/> that
    /// track gradients, backpropagates, and checks the flow: the value carries a gradient, the student's tensor gets
    /// one, so does <paramref name="alsoLearns"/>' module when there is one, and the teacher's tensor gets none.
    /// </summary>
    /// <param name="loss">The learner's loss of (student, teacher), the other arguments bound.</param>
    /// <param name="student">The student's logits or features.</param>
    /// <param name="teacher">The teacher's logits or features.</param>
    /// <param name="function">The learner's function's name, for the messages.</param>
    /// <param name="what">What the tensors are, for example <c>logits</c> (邏輯值 in zh-TW).</param>
    /// <param name="noGradient">The message when the value carries no gradient at all.</param>
    /// <param name="teacherGradient">The message when a gradient reaches the teacher.</param>
    /// <param name="alsoLearns">A module that must train with the student (a regressor), and the message when it gets no gradient.</param>
    /// <returns>A failed check naming what is wrong, or null when the gradients flow as they should.</returns>
    public static CheckResult? GradientFlow(Func<Tensor, Tensor, Tensor> loss, Tensor student, Tensor teacher, string function, string what,
        string noGradient, string teacherGradient, (nn.Module Module, string NoGradient)? alsoLearns = null)
    {
        static bool HasGradient(Tensor? grad) => grad is not null && grad.abs().sum().item<double>() > 0;
        var s = student.clone().requires_grad_(true);
        var t = teacher.clone().requires_grad_(true);
        if (alsoLearns is { } zeroed)
            foreach (var p in zeroed.Module.parameters()) p.grad?.zero_();
        var (value, failure) = Call(() => loss(s, t), function);
        if (failure is not null) return failure;
        if (!value!.requires_grad) return LearnerCode.Fail(noGradient);
        value.sum().backward();
        if (!HasGradient(s.grad))
            return LearnerCode.Fail(Say($"the value is right but no gradient reaches the student's {what}.", $"數值是對的，但沒有梯度傳到學生的{what}。"));
        if (alsoLearns is { } learner && !learner.Module.parameters().Any(p => HasGradient(p.grad)))
            return LearnerCode.Fail(learner.NoGradient);
        if (HasGradient(t.grad)) return LearnerCode.Fail(teacherGradient);
        return null;
    }

    /// <summary>A failed check when <paramref name="value"/> is not a single number, else null.</summary>
    public static CheckResult? ExpectScalar(Tensor value, long batch, string function)
    {
        if (value.numel() == 1) return null;
        string shape = "[" + string.Join(", ", value.shape) + "]";
        return value.dim() == 1 && value.shape[0] == batch
            ? LearnerCode.Fail(Say(
                $"{function} returned one value per example ({shape}); average them over the batch (sum over classes, mean over examples: \"batchmean\") to get one number.",
                $"{Spaced(function)}對每個範例各傳回一個值（{shape}）；請對批次取平均（對類別加總、對範例取平均：「batchmean」），得到單一數值。"))
            : LearnerCode.Fail(Say(
                $"{function} returned a tensor of shape {shape}; it should return a single number.",
                $"{Spaced(function)}傳回了形狀為 {shape} 的張量；它應該傳回單一數值。"));
    }

    /// <summary>True when the two single-number tensors agree within <see cref="Rtol"/> and <see cref="Atol"/>.</summary>
    public static bool Close(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        var x = a.detach().reshape(-1).to_type(ScalarType.Float64).cpu();
        var y = b.detach().reshape(-1).to_type(ScalarType.Float64).cpu();
        return x.shape.SequenceEqual(y.shape) && x.allclose(y, Rtol, Atol);
    }

    /// <summary>
    /// Searches every combination of <paramref name="dimensions"/> (choice 0 of each is the right one) for the one with
    /// the fewest real mistakes whose value, from <paramref name="compute"/>, equals <paramref name="actual"/>.
    /// Returns the chosen choices, or null when no combination matches.
    /// </summary>
    public static IReadOnlyList<Choice>? Explain(IReadOnlyList<IReadOnlyList<Choice>> dimensions, Func<int[], Tensor> compute, Tensor actual)
    {
        var all = new List<int[]>();
        Enumerate(dimensions, 0, new int[dimensions.Count], all);
        foreach (var combination in all.OrderBy(c => c.Select((k, d) => dimensions[d][k].Mistake is null || dimensions[d][k].Acceptable ? 0 : 1).Sum())
                                       .ThenBy(c => c.Count(k => k != 0)))
        {
            using var scope = NewDisposeScope();
            if (Close(compute(combination), actual))
                return combination.Select((k, d) => dimensions[d][k]).ToList();
        }
        return null;
    }

    static void Enumerate(IReadOnlyList<IReadOnlyList<Choice>> dimensions, int d, int[] current, List<int[]> all)
    {
        if (d == dimensions.Count)
        {
            all.Add((int[])current.Clone());
            return;
        }
        for (int k = 0; k < dimensions[d].Count; k++)
        {
            current[d] = k;
            Enumerate(dimensions, d + 1, current, all);
        }
    }

    /// <summary>The verdict for an explained answer: passed when every choice is right or acceptable.</summary>
    public static CheckResult Verdict(IReadOnlyList<Choice>? explained, string right, string unexplained)
    {
        if (explained is null) return LearnerCode.Fail(unexplained);
        var mistakes = explained.Where(c => c.Mistake is not null && !c.Acceptable).Select(c => c.Mistake!).ToList();
        var remarks = explained.Where(c => c.Mistake is not null && c.Acceptable).Select(c => c.Mistake!).ToList();
        if (mistakes.Count == 0)
            return LearnerCode.Pass(right + (remarks.Count > 0 ? Say(" Note: ", "附註：") + string.Join(Say(" ", ""), remarks) : ""));
        return Reject(mistakes);
    }

    /// <summary>A failed check naming one mistake, or numbering several.</summary>
    public static CheckResult Reject(IReadOnlyList<string> mistakes) => mistakes.Count == 1
        ? LearnerCode.Fail(mistakes[0])
        : new(false, Say($"Not yet, {mistakes.Count} things to fix:", $"還不對，有 {mistakes.Count} 個地方要修正：")
                     + string.Concat(mistakes.Select((m, i) => $"{Environment.NewLine}  {i + 1}. {m}")));
}

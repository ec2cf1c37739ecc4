using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Exercises;

/// <summary>Helpers for the self-checks: call the learner's function safely and compare its tensors.</summary>
static class LearnerCode
{
    /// <summary>
    /// Tolerances for comparing a learner's float32 result with a float64 reference: float32 keeps about 7 significant
    /// digits and a softmax or a sum over 10 classes adds a few rounding errors, so 1e-4 relative and 1e-6 absolute
    /// accept every correct float32 answer and reject every mistake the checks look for (those differ by far more).
    /// </summary>
    public const double Rtol = 1e-4, Atol = 1e-6;

    /// <summary>The start of an accepted answer's message: "Correct: " (zh-TW "正確：").</summary>
    public static string Correct => Say("Correct: ", "正確：");

    /// <summary>The start of a rejected answer's message: "Not yet: " (zh-TW "還不對：").</summary>
    public static string NotYet => Say("Not yet: ", "還不對：");

    /// <summary>The start of the message on an answer still left as its stub: "Not attempted yet: " (zh-TW "尚未作答：").</summary>
    public static string NotAttemptedYet => Say("Not attempted yet: ", "尚未作答：");

    /// <summary>An answer still left as its stub: "Not attempted yet: " and what to do.</summary>
    public static CheckResult NotAttempted(string message) => new(false, NotAttemptedYet + message);

    /// <summary>An accepted answer: "Correct: " and what was checked.</summary>
    public static CheckResult Pass(string message) => new(true, Correct + message);

    /// <summary>A rejected answer: "Not yet: " and what is wrong.</summary>
    public static CheckResult Fail(string message) => new(false, NotYet + message);

    /// <summary>The verdict on a learner's function that threw: "Not attempted yet" while it still throws the stub's
    /// <see cref="NotImplementedException"/> (an exercise cell ships with that body, so "Run All" completes), otherwise
    /// "Not yet" with the exception and <paramref name="hint"/>.</summary>
    public static CheckResult Threw(string function, Exception exception, string hint = "")
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception is NotImplementedException
            ? NotAttempted(Say(
                $"{function} still throws NotImplementedException. Replace that line with your code, run the cell, then run this check again.",
                $"{Spaced(function)}仍然擲出 NotImplementedException。把那一行換成你的程式碼，執行儲存格，然後再執行一次這個檢查。"))
            : Fail(Say($"{function} threw {exception.GetType().Name}: {exception.Message}{hint}",
                       $"{Spaced(function)}擲出了 {exception.GetType().Name}：{exception.Message}{hint}"));
    }

    /// <summary>The failure for a learner's function that returned null instead of a tensor.</summary>
    public static CheckResult ReturnedNull(string function) =>
        Fail(Say($"{function} returned null; return a tensor.", $"{Spaced(function)}傳回了 null；請傳回一個張量。"));

    /// <summary>Runs <paramref name="call"/>; on an exception or a null result, returns a failure that says so.</summary>
    public static CheckResult? Run(string function, Func<Tensor?> call, out Tensor result)
    {
        result = null!;
        Tensor? r;
        try
        {
            r = call();
        }
        catch (Exception e)
        {
            return Threw(function, e);
        }
        if (r is null) return ReturnedNull(function);
        result = r;
        return null;
    }

    /// <summary>"[3, 10]".</summary>
    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    /// <summary>The tensor as float64 on the CPU, detached (a new tensor in the current dispose scope).</summary>
    public static Tensor F64(Tensor t) => t.detach().cpu().to_type(ScalarType.Float64);

    /// <summary>Same shape and all values within <see cref="Rtol"/>/<see cref="Atol"/> (NaN never matches).</summary>
    public static bool Close(Tensor mine, Tensor expected, double rtol = Rtol, double atol = Atol) =>
        mine.shape.SequenceEqual(expected.shape) && F64(mine).allclose(F64(expected), rtol, atol);

    /// <summary>Whether <paramref name="after"/> still holds exactly <paramref name="before"/>'s values (to detect in-place changes).</summary>
    public static bool Unchanged(Tensor after, Tensor before) =>
        after.shape.SequenceEqual(before.shape) && after.dtype == before.dtype && after.detach().eq(before).all().item<bool>();

    /// <summary>The largest absolute difference.</summary>
    public static double MaxDiff(Tensor mine, Tensor expected) => F64(mine).sub(F64(expected)).abs().max().item<double>();

    /// <summary>Whether any value is NaN or infinite.</summary>
    public static bool HasNonFinite(Tensor t) => !F64(t).isfinite().all().item<bool>();

    /// <summary>A short rendering of a 1-D tensor: "[0.1000, 0.2000, …]".</summary>
    public static string Row(Tensor t, int max = 10)
    {
        var v = F64(t).flatten().data<double>().ToArray();
        var shown = v.Take(max).Select(x => x.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
        return "[" + string.Join(", ", shown) + (v.Length > max ? ", …" : "") + "]";
    }

    /// <summary>Fixed example logits: float32 [rows, classes], N(0, scale²), from a seeded generator.</summary>
    public static Tensor Logits(long seed, int rows, int classes, double scale = 3.0)
    {
        using var g = new Generator((ulong)seed);
        return randn(rows, classes, generator: g).mul(scale);
    }
}

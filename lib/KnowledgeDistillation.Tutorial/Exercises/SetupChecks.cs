using KnowledgeDistillation.Setup;
using static KnowledgeDistillation.Exercises.LearnerCode;
using static KnowledgeDistillation.Exercises.Localized;

namespace KnowledgeDistillation.Exercises;

/// <summary>Self-checks for the exercises of notebook 00 (setup).</summary>
public static class SetupChecks
{
    /// <summary>The batch size exercise 2 asks for in a full run and in quick mode.</summary>
    public const int FullBatchSize = 256, QuickBatchSize = 32;

    /// <summary>
    /// Checks the learner's <paramref name="batchSize"/>, which should be <c>KdEnvironment.Pick(full: 256, quick: 32)</c>:
    /// 256 in a full run and 32 in quick mode (<see cref="KdEnvironment.QuickMode"/>). 0, the stub's value, is "not
    /// attempted yet"; the other mode's value means the two arguments are swapped or the value is fixed.
    /// </summary>
    public static CheckResult CheckBatchSize(int batchSize) => CheckBatchSize(batchSize, KdEnvironment.QuickMode);

    /// <summary><see cref="CheckBatchSize(int)"/> for the mode given by <paramref name="quickMode"/>.</summary>
    public static CheckResult CheckBatchSize(int batchSize, bool quickMode)
    {
        int expected = quickMode ? QuickBatchSize : FullBatchSize, other = quickMode ? FullBatchSize : QuickBatchSize;
        string mode = quickMode ? Say("quick mode", "快速模式") : Say("a full run", "完整執行");
        if (batchSize == 0)
            return NotAttempted(Say(
                "replace 0 with a call to KdEnvironment.Pick, then run this cell again.",
                "把 0 換成對 KdEnvironment.Pick 的呼叫，然後再執行一次這個儲存格。"));
        if (batchSize == expected)
            return Pass(Say($"batch size {batchSize} in {mode}.", $"{mode}的批次大小是 {batchSize}。"));
        if (batchSize == other)
            return Fail(Say($"got {batchSize} in {mode}, the other mode's value: full: and quick: are swapped, or the value is fixed instead of picked.",
                $"在{mode}中得到 {batchSize}，這是另一個模式的值：full: 與 quick: 對調了，或是把值寫死而沒有用 Pick 挑選。"));
        return Fail(Say($"got {batchSize}, expected {expected} in {mode}. KdEnvironment.Pick(full: …, quick: …) returns the second value in quick mode.",
            $"得到 {batchSize}，但{mode}應該是 {expected}。KdEnvironment.Pick(full: …, quick: …) 在快速模式中傳回第二個值。"));
    }
}

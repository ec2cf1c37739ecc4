namespace KnowledgeDistillation.Exercises;

/// <summary>The verdict of an exercise's self-check: whether the learner's answer is right, and what to fix if not.</summary>
/// <param name="Passed">True when the answer is accepted.</param>
/// <param name="Message">What was checked, or what is wrong and how to fix it.</param>
public sealed record CheckResult(bool Passed, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Message;
}

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// The verdict of an exercise self-check: whether the learner's answer passed, and a message that says what is right
/// or exactly what is wrong. A notebook cell that ends with a check displays <see cref="ToString"/>, the message.
/// </summary>
/// <param name="Passed">True when the answer is accepted.</param>
/// <param name="Message">"Correct: …" or "Not yet: …" with what to fix.</param>
public sealed record CheckResult(bool Passed, string Message)
{
    /// <summary>An accepted answer.</summary>
    public static CheckResult Pass(string message) => new(true, "Correct: " + message);

    /// <summary>A rejected answer, with what is wrong.</summary>
    public static CheckResult Fail(string message) => new(false, "Not yet: " + message);

    /// <summary>The message.</summary>
    public override string ToString() => Message;
}

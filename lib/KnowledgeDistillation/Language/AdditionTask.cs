using System.Globalization;
using System.Text;

namespace KnowledgeDistillation.Language;

/// <summary>How a worked answer is written.</summary>
public enum ReasoningFormat
{
    /// <summary>Only the result: <c>47+85=</c> then <c>132</c>.</summary>
    AnswerOnly,

    /// <summary>A chain of thought over the columns, then the result: <c>47+85=</c> then <c>7+5+0=12;4+8+1=13;ans 132</c>.</summary>
    ChainOfThought,
}

/// <summary>One addition problem <c>A + B</c> of non-negative integers.</summary>
/// <param name="A">The first operand.</param>
/// <param name="B">The second operand.</param>
public sealed record AdditionProblem(long A, long B)
{
    /// <summary>The answer, <c>A + B</c>.</summary>
    public long Sum => A + B;

    /// <summary>The number of digits of the longer operand.</summary>
    public int Digits => Math.Max(DigitCount(A), DigitCount(B));

    /// <summary>The prompt, for example <c>47+85=</c>.</summary>
    public string Prompt => string.Create(CultureInfo.InvariantCulture, $"{A}+{B}=");

    /// <summary>
    /// The written chain of thought, column by column from the units: for each column <c>a+b+c=s;</c> with a, b the
    /// column's digits (0 past an operand's end), c the carry in (0 or 1) and s the column sum as two digits, whose
    /// tens digit is the next carry. Then <c>ans</c> and the result: <c>47+85</c> gives <c>7+5+0=12;4+8+1=13;ans 132</c>.
    /// </summary>
    /// <remarks>Every step has the same width (9 characters), so the digit a step needs is always at the same distance
    /// back, which a small transformer with learned positions finds easily.</remarks>
    public string Chain()
    {
        var text = new StringBuilder();
        long a = A, b = B;
        int carry = 0;
        for (int column = 0; column < Digits; column++)
        {
            int da = (int)(a % 10), db = (int)(b % 10);
            int s = da + db + carry;
            text.Append(CultureInfo.InvariantCulture, $"{da}+{db}+{carry}={s:00};");
            carry = s / 10;
            a /= 10;
            b /= 10;
        }
        return text.Append(CultureInfo.InvariantCulture, $"ans {Sum}").ToString();
    }

    /// <summary>What follows the prompt, without the end token.</summary>
    public string Completion(ReasoningFormat format) => format switch
    {
        ReasoningFormat.AnswerOnly => Sum.ToString(CultureInfo.InvariantCulture),
        ReasoningFormat.ChainOfThought => Chain(),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown format."),
    };

    /// <summary>The whole example: prompt, completion and the end character.</summary>
    public string Text(ReasoningFormat format) => Prompt + Completion(format) + CharVocabulary.EndChar;

    /// <summary>The example as a prompt and its target completion (without the end token).</summary>
    public LmExample ToExample(ReasoningFormat format) => new(Prompt, Completion(format));

    /// <summary>Whether a generated <paramref name="completion"/> ends in this problem's answer (see <see cref="AdditionTask.ExtractAnswer"/>).</summary>
    public bool IsCorrect(string completion) => AdditionTask.ExtractAnswer(completion) == Sum;

    internal static int DigitCount(long n) => n == 0 ? 1 : (int)Math.Floor(Math.Log10(n)) + 1;
}

/// <summary>A training example: a prompt and the completion the model learns to write after it.</summary>
/// <param name="Prompt">The text the model reads, for example <c>47+85=</c>.</param>
/// <param name="Completion">The text it must write, without the end token.</param>
public sealed record LmExample(string Prompt, string Completion);

/// <summary>The sizes and digit ranges of the splits of <see cref="AdditionTask.CreateSplits"/>.</summary>
/// <param name="Seed">The seed of the problem generator.</param>
/// <param name="Train">Training problems.</param>
/// <param name="Validation">Validation problems (same distribution as training, disjoint from it).</param>
/// <param name="Test">Problems in each test split.</param>
/// <param name="MaxDigits">Operands of the training, validation and in-distribution test splits have 1 to this many digits.</param>
/// <param name="HeldOutDigits">Operands of the held-out test split have exactly this many digits (more than <paramref name="MaxDigits"/>).</param>
public sealed record AdditionSplitOptions(int Seed = 0, int Train = 8000, int Validation = 500, int Test = 500, int MaxDigits = 3, int HeldOutDigits = 4)
{
    /// <summary>Throws on counts below 1, or digit counts out of order.</summary>
    public void Validate()
    {
        if (Train < 1) throw new ArgumentOutOfRangeException(nameof(Train), Train, "Train must be at least 1.");
        if (Validation < 1) throw new ArgumentOutOfRangeException(nameof(Validation), Validation, "Validation must be at least 1.");
        if (Test < 1) throw new ArgumentOutOfRangeException(nameof(Test), Test, "Test must be at least 1.");
        if (MaxDigits < 1 || MaxDigits > 9) throw new ArgumentOutOfRangeException(nameof(MaxDigits), MaxDigits, "MaxDigits must be in [1, 9].");
        if (HeldOutDigits <= MaxDigits || HeldOutDigits > 9)
            throw new ArgumentOutOfRangeException(nameof(HeldOutDigits), HeldOutDigits, $"HeldOutDigits must be in ({MaxDigits}, 9], longer than the training numbers.");
        double space = Math.Pow(10, 2 * MaxDigits);
        if (Train + Validation + Test > space / 2)
            throw new ArgumentException($"{Train + Validation + Test} problems of up to {MaxDigits} digits are too many for disjoint splits (there are {space:N0} in all); use more digits or fewer problems.");
    }
}

/// <summary>The four splits: training, validation, an in-distribution test, and a held-out test of longer numbers.</summary>
/// <param name="Train">Training problems, operands of 1 to MaxDigits digits.</param>
/// <param name="Validation">Same distribution, disjoint from training.</param>
/// <param name="Test">In-distribution test: same distribution, disjoint from training and validation.</param>
/// <param name="TestLonger">Held-out test: both operands have HeldOutDigits digits, never seen in training.</param>
/// <param name="Options">The options that made them.</param>
public sealed record AdditionSplits(
    IReadOnlyList<AdditionProblem> Train, IReadOnlyList<AdditionProblem> Validation, IReadOnlyList<AdditionProblem> Test,
    IReadOnlyList<AdditionProblem> TestLonger, AdditionSplitOptions Options);

/// <summary>
/// A synthetic reasoning task at laptop scale: multi-digit addition, answered directly or with a written chain of
/// thought over the carries (<see cref="AdditionProblem.Chain"/>). The final answer is checkable, so a teacher's
/// sampled chains can be filtered by correctness, as in rejection-sampling distillation.
/// </summary>
/// <remarks>
/// The setting mirrors DeepSeek-R1-Distill (DeepSeek-AI, "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via
/// Reinforcement Learning", 2025, arXiv:2501.12948, section 2.4): a large model's correct reasoning traces, selected by
/// checking the final answer, are the supervised fine-tuning data of small models.
/// </remarks>
public static class AdditionTask
{
    /// <summary>The marker before the final answer in a chain of thought.</summary>
    public const string AnswerMarker = "ans ";

    /// <summary>
    /// Draws the splits, all disjoint: training, validation and an in-distribution test with operands of 1 to
    /// <see cref="AdditionSplitOptions.MaxDigits"/> digits (the digit count of each operand uniform, then the number
    /// uniform among those with that many digits), and a held-out test with both operands of
    /// <see cref="AdditionSplitOptions.HeldOutDigits"/> digits. The same seed gives the same problems.
    /// </summary>
    public static AdditionSplits CreateSplits(AdditionSplitOptions? options = null)
    {
        options ??= new();
        options.Validate();
        var random = new Random(options.Seed);
        var seen = new HashSet<AdditionProblem>();
        var train = Draw(random, options.Train, 1, options.MaxDigits, seen);
        var validation = Draw(random, options.Validation, 1, options.MaxDigits, seen);
        var test = Draw(random, options.Test, 1, options.MaxDigits, seen);
        var longer = Draw(random, options.Test, options.HeldOutDigits, options.HeldOutDigits, seen);
        return new AdditionSplits(train, validation, test, longer, options);
    }

    /// <summary>Draws <paramref name="count"/> distinct problems with operands of <paramref name="minDigits"/> to
    /// <paramref name="maxDigits"/> digits that are not in <paramref name="exclude"/>, and adds them to it.</summary>
    public static IReadOnlyList<AdditionProblem> Draw(Random random, int count, int minDigits, int maxDigits, ISet<AdditionProblem> exclude)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(exclude);
        if (minDigits < 1 || maxDigits < minDigits || maxDigits > 9)
            throw new ArgumentOutOfRangeException(nameof(maxDigits), $"Digits must satisfy 1 <= minDigits <= maxDigits <= 9; got {minDigits} and {maxDigits}.");
        var problems = new List<AdditionProblem>(count);
        int attempts = 0;
        while (problems.Count < count)
        {
            if (++attempts > 100 * count + 10_000)
                throw new InvalidOperationException($"Could not draw {count} new problems of {minDigits}-{maxDigits} digits; too few remain.");
            var p = new AdditionProblem(Number(random, minDigits, maxDigits), Number(random, minDigits, maxDigits));
            if (exclude.Add(p)) problems.Add(p);
        }
        return problems;
    }

    static long Number(Random random, int minDigits, int maxDigits)
    {
        int digits = random.Next(minDigits, maxDigits + 1);
        long low = digits == 1 ? 0 : (long)Math.Pow(10, digits - 1), high = (long)Math.Pow(10, digits);
        return random.NextInt64(low, high);
    }

    /// <summary>
    /// The final answer in a generated completion, or null when there is none: the digits after the last
    /// <c>ans </c> when the marker is present (chain of thought), else the whole completion (answer only). Whatever
    /// follows the first end character is ignored; the answer must be 1 to 18 digits and nothing else.
    /// </summary>
    public static long? ExtractAnswer(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        int end = completion.IndexOf(CharVocabulary.EndChar);
        if (end >= 0) completion = completion[..end];
        int marker = completion.LastIndexOf(AnswerMarker, StringComparison.Ordinal);
        string answer = marker >= 0 ? completion[(marker + AnswerMarker.Length)..] : completion;
        if (answer.Length is 0 or > 18 || !answer.All(char.IsAsciiDigit)) return null;
        return long.Parse(answer, CultureInfo.InvariantCulture);
    }

    /// <summary>The examples of <paramref name="problems"/> in <paramref name="format"/>.</summary>
    public static IReadOnlyList<LmExample> Examples(IEnumerable<AdditionProblem> problems, ReasoningFormat format)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return [.. problems.Select(p => p.ToExample(format))];
    }
}

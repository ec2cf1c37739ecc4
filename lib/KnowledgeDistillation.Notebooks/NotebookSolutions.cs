using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Notebooks;

/// <summary>A wrong answer that an exercise's self-check must reject, and a fragment its message must contain.</summary>
/// <param name="Description">What is wrong with it, in the solutions file's words.</param>
/// <param name="Code">The wrong answer: the same declaration as the stub, with a wrong body.</param>
/// <param name="Expect">Text the check's message must contain, so that it names this mistake.</param>
public sealed record ExerciseMistake(string Description, string Code, string Expect);

/// <summary>One exercise's reference solution, from a file in <c>solutions/</c>.</summary>
/// <param name="Title">The heading it sits under.</param>
/// <param name="Key">The declaration it fills in (<c>Tensor MyEntropy(</c>, <c>string myPrediction =</c>).</param>
/// <param name="Code">The solution: the same declaration as the stub, with a right body.</param>
/// <param name="Mistakes">Known wrong answers the check must name.</param>
public sealed record ExerciseSolution(string Title, string Key, string Code, IReadOnlyList<ExerciseMistake> Mistakes);

/// <summary>A code cell in which the learner writes an answer: it has a line with <see cref="NotebookSolutions.Marker"/>.</summary>
/// <param name="CellNumber">1-based position among all cells, as VS Code counts them.</param>
/// <param name="Key">The declaration the learner fills in.</param>
/// <param name="Answer">The part of the cell the learner replaces: the declaration and, for a method, its body.</param>
/// <param name="Source">The whole cell.</param>
public sealed record ExerciseCell(int CellNumber, string Key, string Answer, string Source);

/// <summary>What a self-check printed.</summary>
public enum ExerciseVerdict
{
    /// <summary>"Not attempted yet": the cell still holds its stub.</summary>
    NotAttempted,
    /// <summary>"Correct: ...".</summary>
    Correct,
    /// <summary>"Not yet: ..." (what is wrong).</summary>
    Wrong,
}

/// <summary>An exercise cell with some answer filled in, and the verdict its check must print.</summary>
/// <param name="Label">"cell 38, MyEntropy: solution" or "... mistake: 0 · log 0 left as NaN".</param>
/// <param name="Code">The cell to submit.</param>
/// <param name="Expected">The verdict the check must give.</param>
/// <param name="Fragment">Text the check's output must contain (a wrong answer's named mistake), or null.</param>
public sealed record ExerciseTrial(string Label, string Code, ExerciseVerdict Expected, string? Fragment);

/// <summary>
/// The exercises' hidden solutions. A committed notebook's exercise cell holds a stub (a method whose body throws
/// <see cref="NotImplementedException"/>, or a value left empty) on the line marked <c>// your answer</c>, then the call
/// to its self-check; "Run All" completes and each check says "Not attempted yet". The reference solutions, and wrong
/// answers each check must name, live in <c>solutions/NN-topic.md</c>, out of the learner's way. The harness submits
/// each of them in place of the stub (<see cref="Trials"/>); <c>kd notebooks solve</c> and
/// <c>kd notebooks run --solutions</c> fill them in for a teacher (<see cref="Solve"/>).
/// </summary>
/// <remarks>
/// The part of a cell an answer replaces starts at the line that begins with the answer's declaration (everything up to
/// the first <c>(</c> or <c>=</c> of its first line) and ends there when that line holds a <c>;</c>, otherwise at the
/// next line that is a lone <c>}</c> (the end of a method).
/// </remarks>
public static partial class NotebookSolutions
{
    /// <summary>The comment that marks the line of an exercise cell where the learner writes.</summary>
    public const string Marker = "// your answer";

    /// <summary>The folder, beside notebooks/, that holds the solutions.</summary>
    public const string FolderName = "solutions";

    /// <summary>The solutions file of <paramref name="notebookPath"/>: <c>../solutions/NN-topic.md</c> from the notebook's
    /// folder, and <c>../../solutions/NN-topic.md</c> from a translation's (<c>notebooks/zh-TW/</c>, see
    /// <see cref="NotebookEditions.Of"/>): the editions share their code, so they share the solutions.</summary>
    public static string PathFor(string notebookPath)
    {
        ArgumentNullException.ThrowIfNull(notebookPath);
        string full = Path.GetFullPath(notebookPath);
        string folder = Path.GetDirectoryName(full)!;
        if (NotebookEditions.Of(full).IsTranslation) folder = Path.GetDirectoryName(folder)!;
        return Path.Combine(Path.GetDirectoryName(folder)!, FolderName, Path.GetFileNameWithoutExtension(full) + ".md");
    }

    /// <summary>Reads the solutions of <paramref name="notebookPath"/>; none when it has no solutions file.</summary>
    /// <exception cref="InvalidDataException">The file is malformed; the message names it and the line.</exception>
    public static IReadOnlyList<ExerciseSolution> LoadFor(string notebookPath)
    {
        string path = PathFor(notebookPath);
        return File.Exists(path) ? Parse(File.ReadAllText(path), path) : [];
    }

    /// <summary>
    /// Reads a solutions file: Markdown in which each <c>## </c> heading is an exercise, the first fenced block
    /// <c>```csharp solution</c> under it is the reference solution, and each <c>```csharp mistake "text"</c> block is a
    /// wrong answer whose check must print <c>text</c>; the line before a mistake's fence describes it.
    /// </summary>
    /// <exception cref="InvalidDataException">A block outside a heading, a heading with no or two solutions, a mistake
    /// without its expected text or with a different declaration, or an unclosed fence; the message names the line.</exception>
    public static IReadOnlyList<ExerciseSolution> Parse(string markdown, string fileName = "solutions")
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var result = new List<ExerciseSolution>();
        string? title = null;
        string? solution = null;
        int titleLine = 0;
        var mistakes = new List<ExerciseMistake>();
        string lastText = "";
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush();
                title = line[3..].Trim();
                titleLine = i + 1;
                continue;
            }
            if (!line.StartsWith("```", StringComparison.Ordinal))
            {
                if (line.Trim().Length > 0) lastText = line.Trim();
                continue;
            }
            string info = line[3..].Trim();
            int start = i + 1;
            int end = Array.FindIndex(lines, start, l => l.TrimEnd() == "```");
            if (end < 0) throw new InvalidDataException($"{fileName}, line {i + 1}: the code block is not closed with ```.");
            string code = string.Join("\n", lines[start..end]);
            i = end;
            var fence = FenceInfo().Match(info);
            if (!fence.Success) continue; // another kind of block: prose for the reader
            if (title is null) throw new InvalidDataException($"{fileName}, line {start}: a {fence.Groups["kind"].Value} block before the first '## ' heading.");
            if (fence.Groups["kind"].Value == "solution")
            {
                if (solution is not null) throw new InvalidDataException($"{fileName}, line {start}: '{title}' has a second solution block.");
                solution = code;
            }
            else
            {
                if (!fence.Groups["expect"].Success || fence.Groups["expect"].Value.Length == 0)
                    throw new InvalidDataException($"{fileName}, line {start}: a mistake block needs the text its check must print: ```csharp mistake \"...\".");
                mistakes.Add(new ExerciseMistake(lastText, code, fence.Groups["expect"].Value));
            }
        }
        Flush();
        return result;

        void Flush()
        {
            if (title is null) return;
            if (solution is null) throw new InvalidDataException($"{fileName}, line {titleLine}: '{title}' has no ```csharp solution block.");
            string key = Key(solution) ?? throw new InvalidDataException($"{fileName}, line {titleLine}: the solution of '{title}' does not start with a declaration (a method or `type name = ...`).");
            foreach (var m in mistakes)
                if (Key(m.Code) != key)
                    throw new InvalidDataException($"{fileName}: under '{title}', the mistake \"{m.Expect}\" declares '{Key(m.Code)}', not '{key}' as the solution does.");
            result.Add(new ExerciseSolution(title, key, solution, [.. mistakes]));
            title = null;
            solution = null;
            mistakes.Clear();
        }
    }

    /// <summary>The declaration an answer fills in: its first non-empty line up to the first name followed by <c>(</c> or
    /// <c>=</c> (<c>Tensor MyEntropy(</c>, <c>(long Parameters, long Flops) MyConvCost(</c>, <c>string myPrediction =</c>),
    /// with runs of spaces made single; null when the line is indented, a comment, or has no such name.</summary>
    public static string? Key(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        string? first = code.Replace("\r\n", "\n").Split('\n').FirstOrDefault(l => l.Trim().Length > 0);
        if (first is null || char.IsWhiteSpace(first[0]) || first.StartsWith("//", StringComparison.Ordinal)) return null;
        var m = Declaration().Match(first);
        return m.Success ? Spaces().Replace(m.Value.Trim(), " ") : null;
    }

    /// <summary>The exercise cells of a notebook, in order.</summary>
    /// <exception cref="InvalidDataException">A marked cell whose answer cannot be found (see the remarks on the class).</exception>
    public static IReadOnlyList<ExerciseCell> Exercises(string notebookJson)
    {
        var cells = new List<ExerciseCell>();
        int number = 0;
        foreach (var cell in Cells(notebookJson))
        {
            number++;
            if (cell["cell_type"]?.GetValue<string>() != "code") continue;
            string source = Source(cell);
            var lines = source.Split('\n');
            int marked = Array.FindIndex(lines, l => l.Contains(Marker, StringComparison.OrdinalIgnoreCase));
            if (marked < 0) continue;
            // The declaration is the marked line itself (a value) or the nearest line above it that declares something.
            int first = marked;
            while (first >= 0 && Key(lines[first]) is null) first--;
            if (first < 0)
                throw new InvalidDataException($"cell {number}: the line marked '{Marker}' has no declaration at the start of a line above it.");
            var (from, to) = Region(lines, first) ?? throw new InvalidDataException($"cell {number}: the method that holds '{Marker}' has no closing '}}' line.");
            cells.Add(new ExerciseCell(number, Key(lines[first])!, string.Join("\n", lines[from..(to + 1)]), source));
        }
        return cells;
    }

    /// <summary>The cell with its answer replaced by <paramref name="answer"/> (which must declare the same thing).</summary>
    /// <exception cref="ArgumentException"><paramref name="answer"/> declares something else.</exception>
    public static string Fill(ExerciseCell cell, string answer)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(answer);
        if (Key(answer) != cell.Key) throw new ArgumentException($"The answer declares '{Key(answer)}', but cell {cell.CellNumber} asks for '{cell.Key}'.", nameof(answer));
        int at = cell.Source.IndexOf(cell.Answer, StringComparison.Ordinal);
        return cell.Source[..at] + answer.TrimEnd('\n') + cell.Source[(at + cell.Answer.Length)..];
    }

    /// <summary>Pairs each exercise cell with its solution.</summary>
    /// <exception cref="InvalidDataException">An exercise without a solution, two for one, or a solution that no cell
    /// asks for; the message names them.</exception>
    public static IReadOnlyList<(ExerciseCell Cell, ExerciseSolution Solution)> Pair(string notebookJson, IReadOnlyList<ExerciseSolution> solutions)
    {
        ArgumentNullException.ThrowIfNull(solutions);
        var cells = Exercises(notebookJson);
        var pairs = new List<(ExerciseCell, ExerciseSolution)>();
        foreach (var cell in cells)
        {
            var matching = solutions.Where(s => s.Key == cell.Key).ToList();
            if (matching.Count != 1)
                throw new InvalidDataException(matching.Count == 0
                    ? $"cell {cell.CellNumber} asks for '{cell.Key}', and the solutions file has no solution for it."
                    : $"cell {cell.CellNumber} asks for '{cell.Key}', and the solutions file has {matching.Count} solutions for it.");
            pairs.Add((cell, matching[0]));
        }
        foreach (var s in solutions)
            if (cells.Count(c => c.Key == s.Key) != 1)
                throw new InvalidDataException($"the solution '{s.Title}' fills in '{s.Key}', which {(cells.Any(c => c.Key == s.Key) ? "several exercise cells ask" : "no exercise cell asks")} for.");
        return pairs;
    }

    /// <summary>The notebook with every exercise's solution in place of its stub (outputs untouched).</summary>
    /// <exception cref="InvalidDataException">See <see cref="Pair"/>.</exception>
    public static string Solve(string notebookJson, IReadOnlyList<ExerciseSolution> solutions)
    {
        var pairs = Pair(notebookJson, solutions);
        var notebook = ParseNotebook(notebookJson);
        var cells = notebook["cells"]!.AsArray();
        foreach (var (cell, solution) in pairs)
            SetSource(cells[cell.CellNumber - 1]!.AsObject(), Fill(cell, solution.Code));
        return Write(notebook);
    }

    /// <summary>For each exercise, its cell with the solution filled in (the check must say "Correct") and with each
    /// known mistake (the check must say "Not yet" and name it), in notebook order.</summary>
    /// <exception cref="InvalidDataException">See <see cref="Pair"/>.</exception>
    public static IReadOnlyList<ExerciseTrial> Trials(string notebookJson, IReadOnlyList<ExerciseSolution> solutions)
    {
        var trials = new List<ExerciseTrial>();
        foreach (var (cell, solution) in Pair(notebookJson, solutions))
        {
            string name = $"cell {cell.CellNumber}, {cell.Key.TrimEnd('(', '=', ' ')}";
            trials.Add(new ExerciseTrial($"{name}: the solution", Fill(cell, solution.Code), ExerciseVerdict.Correct, null));
            foreach (var m in solution.Mistakes)
                trials.Add(new ExerciseTrial($"{name}: the mistake \"{m.Description}\"", Fill(cell, m.Code), ExerciseVerdict.Wrong, m.Expect));
        }
        return trials;
    }

    /// <summary>The last verdict a self-check printed in <paramref name="output"/> (a line that starts with
    /// "Correct:", "Not yet:", "Not yet, 2 things to fix:" or "Not attempted yet", or, where the checks speak Traditional
    /// Chinese (notebooks/zh-TW), "正確：", "還不對：", "還不對，有 2 個地方要修正：" or "尚未作答"), or null when there is
    /// none.</summary>
    public static ExerciseVerdict? Verdict(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        ExerciseVerdict? verdict = null;
        foreach (var raw in output.Replace("\r\n", "\n").Split('\n'))
        {
            string line = raw.TrimStart();
            foreach (var (start, meaning) in VerdictLines)
                if (line.StartsWith(start, StringComparison.Ordinal))
                {
                    verdict = meaning;
                    break;
                }
        }
        return verdict;
    }

    /// <summary>How each verdict's line starts, in English and in Traditional Chinese.</summary>
    static readonly (string Start, ExerciseVerdict Verdict)[] VerdictLines =
    [
        ("Correct:", ExerciseVerdict.Correct), ("正確：", ExerciseVerdict.Correct),
        ("Not yet:", ExerciseVerdict.Wrong), ("Not yet,", ExerciseVerdict.Wrong), ("還不對：", ExerciseVerdict.Wrong), ("還不對，", ExerciseVerdict.Wrong),
        ("Not attempted yet", ExerciseVerdict.NotAttempted), ("尚未作答", ExerciseVerdict.NotAttempted),
    ];

    /// <summary>
    /// The notebook as it reads from <paramref name="toDirectory"/> when it was written for
    /// <paramref name="fromDirectory"/>: each relative path in a <c>#r "..."</c> or <c>#load "..."</c> line (not a
    /// <c>nuget:</c> reference) and each relative Markdown link that leaves the folder (<c>](../...)</c>) is rewritten
    /// to point at the same file.
    /// </summary>
    public static string Relocate(string notebookJson, string fromDirectory, string toDirectory)
    {
        ArgumentNullException.ThrowIfNull(fromDirectory);
        ArgumentNullException.ThrowIfNull(toDirectory);
        string from = Path.GetFullPath(fromDirectory), to = Path.GetFullPath(toDirectory);
        if (from == to) return notebookJson;
        string Move(string relative) => Path.GetRelativePath(to, Path.GetFullPath(Path.Combine(from, relative))).Replace('\\', '/');
        var notebook = ParseNotebook(notebookJson);
        foreach (var cell in notebook["cells"]!.AsArray().OfType<JsonObject>())
        {
            string source = Source(cell);
            string moved = cell["cell_type"]?.GetValue<string>() == "code"
                ? Directive().Replace(source, m => m.Groups["path"].Value.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase) || Path.IsPathRooted(m.Groups["path"].Value)
                    ? m.Value
                    : m.Groups["head"].Value + Move(m.Groups["path"].Value) + "\"")
                : UpLink().Replace(source, m => "](" + Move(m.Groups["path"].Value) + ")");
            if (moved != source) SetSource(cell, moved);
        }
        return Write(notebook);
    }

    /// <summary>From <paramref name="first"/>: that line alone when it holds a ';' (a value), else to the next lone '}'.</summary>
    static (int From, int To)? Region(string[] lines, int first)
    {
        string code = lines[first].Split("//")[0];
        if (code.Contains(';')) return (first, first);
        for (int i = first + 1; i < lines.Length; i++)
            if (lines[i].TrimEnd() == "}") return (first, i);
        return null;
    }

    static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static string Write(JsonObject notebook) => notebook.ToJsonString(Indented) + "\n";

    static JsonObject ParseNotebook(string json) =>
        JsonNode.Parse(json) as JsonObject is { } o && o["cells"] is JsonArray
            ? o
            : throw new InvalidDataException("The text is not a notebook (a JSON object with cells).");

    static IEnumerable<JsonObject> Cells(string json) => ParseNotebook(json)["cells"]!.AsArray().OfType<JsonObject>();

    static string Source(JsonObject cell) => (cell["source"] switch
    {
        JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>() ?? "")),
        JsonValue v => v.GetValue<string>(),
        _ => "",
    }).Replace("\r\n", "\n");

    /// <summary>Stores the source as a list of lines, each but the last ending in "\n", as Jupyter writes it.</summary>
    static void SetSource(JsonObject cell, string source)
    {
        var lines = new JsonArray();
        var parts = source.Split('\n');
        for (int i = 0; i < parts.Length; i++)
        {
            if (i == parts.Length - 1 && parts[i].Length == 0) break;
            lines.Add(i < parts.Length - 1 ? parts[i] + "\n" : parts[i]);
        }
        cell["source"] = lines;
    }

    [GeneratedRegex("""^csharp\s+(?<kind>solution|mistake)(\s+"(?<expect>[^"]*)")?\s*$""")]
    private static partial Regex FenceInfo();

    [GeneratedRegex(@"^.*?\b[A-Za-z_]\w*\s*[(=]")]
    private static partial Regex Declaration();

    [GeneratedRegex(" {2,}")]
    private static partial Regex Spaces();

    [GeneratedRegex("""^(?<head>[ \t]*#(r|load)[ \t]+")(?<path>[^"\r\n]+)"(?=[ \t]*$)""", RegexOptions.Multiline)]
    private static partial Regex Directive();

    [GeneratedRegex(@"\]\((?<path>\.\./[^)\s]+)\)")]
    private static partial Regex UpLink();
}

using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Notebooks;

/// <summary>
/// One edition of the notebooks: a language and the folder its notebooks live in. The English notebooks are in
/// <c>notebooks/</c>; a translation is in a subfolder named after its language (<c>notebooks/zh-TW/</c>), one folder
/// deeper, with the same file names, the same cells in the same order, and the same code.
/// </summary>
/// <param name="Language">The name <c>kd notebooks --lang</c> takes: <c>en</c>, <c>zh-TW</c>.</param>
/// <param name="Subfolder">The edition's folder inside <c>notebooks/</c>; empty for English.</param>
/// <param name="HtmlLanguage">The BCP 47 tag of its HTML pages' <c>&lt;html lang&gt;</c>: <c>en</c>, <c>zh-Hant-TW</c>.</param>
/// <param name="DisplayName">The language's name in English, for messages.</param>
/// <param name="NotebooksTitle">"Notebooks" in the edition's language: the title of its HTML contents page.</param>
public sealed record NotebookEdition(string Language, string Subfolder, string HtmlLanguage, string DisplayName, string NotebooksTitle)
{
    /// <summary>True for a translation (an edition in a subfolder of <c>notebooks/</c>).</summary>
    public bool IsTranslation => Subfolder.Length > 0;

    /// <summary>The edition's folder relative to the repository root, with forward slashes: <c>notebooks</c>,
    /// <c>notebooks/zh-TW</c>.</summary>
    public string RelativeDirectory => IsTranslation ? $"{NotebookEditions.NotebooksFolder}/{Subfolder}" : NotebookEditions.NotebooksFolder;

    /// <summary>The way up from the edition's folder to the repository root: <c>../</c>, or <c>../../</c> for a
    /// translation. The notebooks' library paths start with it (<c>#load "../../lib/LibraryBuild.csx"</c>).</summary>
    public string ToRepositoryRoot => IsTranslation ? "../../" : "../";

    /// <summary>The edition's folder in the repository at <paramref name="repositoryRoot"/>.</summary>
    public string Directory(string repositoryRoot)
    {
        ArgumentNullException.ThrowIfNull(repositoryRoot);
        return IsTranslation
            ? Path.Combine(repositoryRoot, NotebookEditions.NotebooksFolder, Subfolder)
            : Path.Combine(repositoryRoot, NotebookEditions.NotebooksFolder);
    }

    /// <summary>The edition's notebooks in the repository at <paramref name="repositoryRoot"/>, <c>NN-topic.ipynb</c>
    /// in order; none when its folder does not exist.</summary>
    public IReadOnlyList<string> Notebooks(string repositoryRoot)
    {
        string directory = Directory(repositoryRoot);
        return System.IO.Directory.Exists(directory)
            ? System.IO.Directory.GetFiles(directory, "*.ipynb").Order(StringComparer.Ordinal).ToList()
            : [];
    }

    /// <summary><paramref name="folder"/> with this edition's subfolder below it (the folder itself for English): where
    /// <c>kd notebooks</c> writes this edition's files by default.</summary>
    public string Below(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return IsTranslation ? Path.Combine(folder, Subfolder) : folder;
    }
}

/// <summary>What breaks the pairing of a translated notebook with its English original.</summary>
public enum NotebookDifferenceKind
{
    /// <summary>The translated notebook does not exist.</summary>
    MissingNotebook,
    /// <summary>The two notebooks have a different number of cells; the difference names the first cell that no longer
    /// pairs (a cell was removed or added there or just before).</summary>
    CellCount,
    /// <summary>A code cell where the original has a markdown cell, or the other way round.</summary>
    CellType,
    /// <summary>A code cell that differs from the original other than by the folder depth of the library paths.</summary>
    Code,
    /// <summary>A markdown cell with no Chinese characters: left untranslated.</summary>
    Untranslated,
    /// <summary>A translated markdown cell that lacks math, inline code, a code block, a link target or a number of the
    /// English cell: the translation dropped it, or the English cell changed and the translation was not brought up to
    /// date.</summary>
    StaleMarkdown,
    /// <summary>A code cell with outputs or an execution count: committed notebooks carry none.</summary>
    Outputs,
}

/// <summary>One thing that breaks the pairing of a translated notebook with its English original.</summary>
/// <param name="Kind">What kind of difference it is.</param>
/// <param name="CellNumber">The 1-based cell, as VS Code counts cells; null for a missing notebook.</param>
/// <param name="Message">What differs and, where it helps, how to fix it.</param>
public sealed record NotebookDifference(NotebookDifferenceKind Kind, int? CellNumber, string Message)
{
    /// <summary>"cell N: message", or the message alone when no cell is concerned.</summary>
    public override string ToString() => CellNumber is { } n ? $"cell {n}: {Message}" : Message;
}

/// <summary>
/// The editions of the notebooks (<see cref="English"/> in <c>notebooks/</c>, <see cref="TraditionalChinese"/> in
/// <c>notebooks/zh-TW/</c>), and the check that a translation pairs with its original (<see cref="Compare"/>): the same
/// cells in the same order, code cells identical but for the folder depth (<c>"../../lib/</c> where the original has
/// <c>"../lib/</c>), markdown cells translated, no outputs.
/// </summary>
public static partial class NotebookEditions
{
    /// <summary>The folder, at the repository root, that holds the English notebooks and the translations' folders.</summary>
    public const string NotebooksFolder = "notebooks";

    /// <summary>The English notebooks, in <c>notebooks/</c>: the originals.</summary>
    public static NotebookEdition English { get; } = new("en", "", "en", "English", "Notebooks");

    /// <summary>The Traditional Chinese (Taiwan) notebooks, in <c>notebooks/zh-TW/</c>.</summary>
    public static NotebookEdition TraditionalChinese { get; } = new("zh-TW", "zh-TW", "zh-Hant-TW", "Traditional Chinese (Taiwan)", "筆記本");

    /// <summary>Every edition, English first.</summary>
    public static IReadOnlyList<NotebookEdition> All { get; } = [English, TraditionalChinese];

    /// <summary>The languages, for messages: "en or zh-TW".</summary>
    public static string Choices => string.Join(", ", All.SkipLast(1).Select(e => e.Language)) + " or " + All[^1].Language;

    /// <summary>The edition named <paramref name="language"/> (<c>en</c>, <c>zh-TW</c>; case does not matter).</summary>
    public static bool TryParse(string? language, out NotebookEdition edition)
    {
        edition = All.FirstOrDefault(e => string.Equals(e.Language, language, StringComparison.OrdinalIgnoreCase))!;
        return edition is not null;
    }

    /// <summary>The edition named <paramref name="language"/>.</summary>
    /// <exception cref="ArgumentException">No edition has that name; the message names the choices.</exception>
    public static NotebookEdition Parse(string? language) =>
        TryParse(language, out var edition) ? edition : throw new ArgumentException($"There is no '{language}' edition of the notebooks; the editions are {Choices}.", nameof(language));

    /// <summary>The edition a notebook belongs to, by its folder: a notebook in a folder named after a translation
    /// (<c>zh-TW</c>, in any letter case, as the library's <c>KdEnvironment.Language</c> reads the working directory) is in
    /// that translation, any other in English. Copies follow the same rule
    /// (<c>kd notebooks solve --lang zh-TW</c> writes to <c>artifacts/solved/zh-TW/</c>).</summary>
    public static NotebookEdition Of(string notebookPath)
    {
        ArgumentNullException.ThrowIfNull(notebookPath);
        string folder = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(notebookPath))) ?? "";
        return All.FirstOrDefault(e => e.IsTranslation && string.Equals(e.Subfolder, folder, StringComparison.OrdinalIgnoreCase)) ?? English;
    }

    /// <summary>
    /// What breaks the pairing of the translated notebook at <paramref name="translatedPath"/> with the English one at
    /// <paramref name="englishPath"/> (see <see cref="Compare"/>); a single <see cref="NotebookDifferenceKind.MissingNotebook"/>
    /// when the translation does not exist.
    /// </summary>
    public static IReadOnlyList<NotebookDifference> CompareFiles(string englishPath, string translatedPath)
    {
        ArgumentNullException.ThrowIfNull(englishPath);
        ArgumentNullException.ThrowIfNull(translatedPath);
        if (!File.Exists(translatedPath))
            return [new(NotebookDifferenceKind.MissingNotebook, null, $"{translatedPath} is missing: translate {englishPath} into it, with the same cells in the same order.")];
        return Compare(File.ReadAllText(englishPath), File.ReadAllText(translatedPath));
    }

    /// <summary>
    /// What breaks the pairing of a Traditional Chinese notebook with its English original, in cell order; empty when
    /// they pair. They pair when they have the same number of cells, each of the same type as its original, each code
    /// cell the same as the original's except that <c>"../lib/</c> is <c>"../../lib/</c> (the translation lies one
    /// folder deeper), each markdown cell has Chinese characters and keeps the original's math, code, link targets and numbers
    /// (<see cref="NotebookDifferenceKind.StaleMarkdown"/>), and no code cell has outputs. When the numbers of
    /// cells differ, the cells after the first one that no longer pairs are not compared (they are shifted).
    /// </summary>
    /// <param name="englishNotebookJson">The English notebook (nbformat 4 JSON).</param>
    /// <param name="translatedNotebookJson">Its translation.</param>
    /// <exception cref="InvalidDataException">Either text is not a notebook (a JSON object with cells).</exception>
    public static IReadOnlyList<NotebookDifference> Compare(string englishNotebookJson, string translatedNotebookJson)
    {
        var english = Cells(englishNotebookJson, "The English notebook");
        var translated = Cells(translatedNotebookJson, "The translated notebook");
        var differences = new List<NotebookDifference>();
        int common = Math.Min(english.Count, translated.Count);
        int? breaks = null;
        for (int i = 0; i < common && breaks is null; i++)
        {
            var (original, translation) = (english[i], translated[i]);
            int cell = i + 1;
            if (original.Type != translation.Type)
            {
                if (english.Count != translated.Count) breaks = cell;
                else differences.Add(new(NotebookDifferenceKind.CellType, cell, $"a {translation.Type} cell where the English notebook has a {original.Type} cell."));
                continue;
            }
            if (translation.Type == "markdown")
            {
                if (!Han().IsMatch(translation.Source))
                    differences.Add(new(NotebookDifferenceKind.Untranslated, cell, $"the markdown cell has no Chinese characters; translate it: {Excerpt(translation.Source)}"));
                else if (MissingMarkup(original.Source, translation.Source) is { Count: > 0 } missing)
                    differences.Add(new(NotebookDifferenceKind.StaleMarkdown, cell,
                        $"the translation lacks what the English cell has: {string.Join(", ", missing.Take(3))}{(missing.Count > 3 ? $" and {missing.Count - 3} more" : "")}. " +
                        "Bring the translation up to date with the English cell (math, code and link targets stay as they are)."));
                continue;
            }
            if (CodeDifference(original.Source, translation.Source) is { } code)
            {
                if (english.Count != translated.Count) breaks = cell;
                else differences.Add(new(NotebookDifferenceKind.Code, cell, code));
            }
            if (translation.HasOutputs)
                differences.Add(new(NotebookDifferenceKind.Outputs, cell, "the code cell carries outputs or an execution count; committed notebooks carry none (clear them)."));
        }
        if (english.Count != translated.Count)
        {
            int cell = breaks ?? common + 1;
            string where = breaks is not null
                ? $"the cells stop pairing at cell {cell} (a cell was removed or added there or just before)"
                : english.Count > translated.Count
                    ? $"the English cells from cell {cell} on have no translation"
                    : $"the cells from cell {cell} on have no English original";
            differences.Add(new(NotebookDifferenceKind.CellCount, cell, $"the English notebook has {english.Count} cells and the translation {translated.Count}: {where}."));
        }
        return differences;
    }

    /// <summary>Why a translated code cell differs from its original other than by the folder depth, or null when it
    /// does not.</summary>
    static string? CodeDifference(string original, string translation)
    {
        const string englishLibrary = "\"../lib/", translatedLibrary = "\"../../lib/";
        string expected = original.Replace(englishLibrary, translatedLibrary, StringComparison.Ordinal);
        if (expected == translation) return null;
        string[] want = expected.Split('\n'), have = translation.Split('\n');
        int line = 0;
        while (line < want.Length && line < have.Length && want[line] == have[line]) line++;
        string got = line < have.Length ? have[line] : "(no line)";
        string wanted = line < want.Length ? want[line] : "(no line)";
        if (got.Contains(englishLibrary, StringComparison.Ordinal) && got.Replace(englishLibrary, translatedLibrary, StringComparison.Ordinal) == wanted)
            return $"line {line + 1} keeps the English notebook's {englishLibrary}; the translation lies one folder deeper and needs {translatedLibrary}: {got.Trim()}";
        return $"the code differs from the English cell other than by the folder depth ({translatedLibrary} for {englishLibrary}); " +
               $"line {line + 1} should be `{wanted.Trim()}` but is `{got.Trim()}`.";
    }

    /// <summary>
    /// The math (<c>$…$</c>, <c>$$…$$</c>), inline code, fenced code blocks, link targets and numbers of the English markdown that
    /// the translation does not have, each as often as the English has it: a translation keeps them all as they are
    /// (it may repeat one). Math and code are compared with runs of white space made single; link targets without their
    /// leading <c>../</c> (the translation lies one folder deeper), and a link to <c>README.md</c> is kept by one to
    /// <c>README.zh-TW.md</c>.
    /// </summary>
    static List<string> MissingMarkup(string english, string translation)
    {
        var have = Markup(translation).GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
        var missing = new List<string>();
        foreach (var item in Markup(english))
        {
            string key = item == "link README.md" && !have.ContainsKey(item) ? "link README.zh-TW.md" : item;
            if (have.TryGetValue(key, out int n) && n > 0) have[key] = n - 1;
            else missing.Add(item);
        }
        return missing;
    }

    /// <summary>A markdown cell's math, inline code, fenced code blocks, link targets and the numbers in its prose, each
    /// labelled.</summary>
    static IEnumerable<string> Markup(string markdown)
    {
        string Squeeze(string text) => WhiteSpace().Replace(text, " ").Trim();
        var rest = markdown;
        foreach (Match fence in FencedCode().Matches(rest)) yield return "code block " + Squeeze(fence.Value);
        rest = FencedCode().Replace(rest, " ");
        foreach (Match math in DisplayMath().Matches(rest)) yield return "math " + Squeeze(math.Value);
        rest = DisplayMath().Replace(rest, " ");
        foreach (Match code in InlineCode().Matches(rest)) yield return "code " + Squeeze(code.Value);
        rest = InlineCode().Replace(rest, " "); // a $ inside code is not math
        foreach (Match math in InlineMath().Matches(rest)) yield return "math " + Squeeze(math.Value);
        rest = InlineMath().Replace(rest, " ");
        foreach (Match link in LinkTarget().Matches(rest)) yield return "link " + UpFolders().Replace(link.Groups["target"].Value, "");
        rest = LinkTarget().Replace(rest, "]");
        foreach (Match number in Number().Matches(rest)) yield return "number " + number.Value;
    }

    [GeneratedRegex(@"```.*?```", RegexOptions.Singleline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"\$\$.+?\$\$", RegexOptions.Singleline)]
    private static partial Regex DisplayMath();

    [GeneratedRegex(@"`[^`]+`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"(?<![\\$])\$[^$]+?\$")]
    private static partial Regex InlineMath();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex LinkTarget();

    /// <summary>A number in prose: 5, 0.9, 60,000, 17.8 (not the 2 in a name such as R1 or fp32).</summary>
    [GeneratedRegex(@"(?<![A-Za-z0-9_.])\d+(?:,\d{3})*(?:\.\d+)?")]
    private static partial Regex Number();

    [GeneratedRegex(@"^(\.\./)+")]
    private static partial Regex UpFolders();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhiteSpace();

    sealed record Cell(string Type, string Source, bool HasOutputs);

    static List<Cell> Cells(string json, string what)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{what} is not JSON: {e.Message}", e);
        }
        if (node is not JsonObject { } notebook || notebook["cells"] is not JsonArray cells)
            throw new InvalidDataException($"{what} is not a notebook (a JSON object with cells).");
        return cells.OfType<JsonObject>().Select(c => new Cell(
            c["cell_type"]?.GetValue<string>() ?? "",
            NotebookHtml.Text(c["source"]).Replace("\r\n", "\n"),
            c["outputs"] is JsonArray { Count: > 0 } || c["execution_count"] is JsonValue)).ToList();
    }

    static string Excerpt(string source)
    {
        string line = source.Split('\n').FirstOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
        return line.Length <= 80 ? $"\"{line}\"" : $"\"{line[..77]}...\"";
    }

    /// <summary>A Chinese character: CJK unified ideographs, extension A and compatibility ideographs.</summary>
    [GeneratedRegex(@"[\p{IsCJKUnifiedIdeographs}\p{IsCJKUnifiedIdeographsExtensionA}\p{IsCJKCompatibilityIdeographs}]")]
    private static partial Regex Han();
}

using System.Text.Json.Nodes;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>
/// The Traditional Chinese edition (notebooks/zh-TW/) pairs one to one with the English notebooks: the same cells in the
/// same order, code identical but for the folder depth, markdown translated, no outputs. And the check that says so
/// (<see cref="NotebookEditions.Compare"/>) reports each kind of break with its cell number, on altered copies of a real
/// pair.
/// </summary>
public class NotebookEditionTests
{
    static readonly NotebookEdition Chinese = NotebookEditions.TraditionalChinese;

    public static TheoryData<string> EnglishNotebooks() => [.. NotebookFiles.All().Select(Path.GetFileName).OfType<string>()];

    static string Translation(string name) => Path.Combine(Chinese.Directory(NotebookFiles.RepoRoot), name);

    [Theory]
    [MemberData(nameof(EnglishNotebooks))]
    public void Every_english_notebook_has_a_zh_TW_translation_that_pairs_with_it(string name)
    {
        var differences = NotebookEditions.CompareFiles(Path.Combine(NotebookFiles.Directory, name), Translation(name));
        Assert.True(differences.Count == 0,
            $"{Chinese.RelativeDirectory}/{name} does not pair with notebooks/{name}:{Environment.NewLine}{string.Join(Environment.NewLine, differences)}");
    }

    [Fact]
    public void Every_zh_TW_notebook_translates_an_english_one()
    {
        var english = NotebookFiles.All().Select(Path.GetFileName).ToHashSet();
        var translations = NotebookFiles.All(Chinese).Select(Path.GetFileName).ToList();
        Assert.NotEmpty(translations);
        foreach (var name in translations)
            Assert.True(english.Contains(name), $"{Chinese.RelativeDirectory}/{name} has no English original notebooks/{name}.");
    }

    /// <summary>The code is shared, so the exercises are too: each zh-TW exercise cell finds its solution in
    /// solutions/NN-topic.md, two folders up (kd notebooks solve and run --solutions rely on it).</summary>
    [Theory]
    [MemberData(nameof(EnglishNotebooks))]
    public void Zh_TW_exercises_pair_with_the_shared_solutions(string name)
    {
        string path = Translation(name);
        if (!File.Exists(path)) return; // reported by the pairing test above
        Assert.Equal(Path.Combine(NotebookFiles.RepoRoot, "solutions", Path.ChangeExtension(name, ".md")), NotebookSolutions.PathFor(path));
        var json = File.ReadAllText(path);
        var pairs = NotebookSolutions.Pair(json, NotebookSolutions.LoadFor(path)); // throws, naming the cell, when one is unmatched
        Assert.Equal(NotebookSolutions.Exercises(File.ReadAllText(Path.Combine(NotebookFiles.Directory, name))).Count, pairs.Count);
    }

    // The check itself, on a real pair (notebook 01) with one thing changed in a copy of the translation.

    const string Sample = "01-soft-and-hard-labels.ipynb";

    static string English => File.ReadAllText(Path.Combine(NotebookFiles.Directory, Sample));

    static JsonArray Cells(JsonNode notebook) => notebook["cells"]!.AsArray();

    static string Source(JsonNode cell) => NotebookHygieneTests.Source(cell);

    /// <summary>The zh-TW translation of <see cref="Sample"/>, changed by <paramref name="change"/>.</summary>
    static string Altered(Action<JsonArray> change)
    {
        var notebook = JsonNode.Parse(File.ReadAllText(Translation(Sample)))!;
        change(Cells(notebook));
        return notebook.ToJsonString();
    }

    /// <summary>The 1-based number of the n-th (1-based) cell of <paramref name="type"/> in the sample.</summary>
    static int NthCell(string type, int n)
    {
        var cells = Cells(JsonNode.Parse(English)!);
        return cells.Select((c, i) => (c, i + 1)).Where(p => p.c!["cell_type"]!.GetValue<string>() == type).ElementAt(n - 1).Item2;
    }

    static NotebookDifference Single(string translated, NotebookDifferenceKind kind)
    {
        var differences = NotebookEditions.Compare(English, translated);
        Assert.True(differences.Count == 1, string.Join(Environment.NewLine, differences));
        Assert.Equal(kind, differences[0].Kind);
        return differences[0];
    }

    [Fact]
    public void The_sample_pair_has_no_differences() => Assert.Empty(NotebookEditions.Compare(English, Altered(_ => { })));

    [Fact]
    public void A_changed_code_cell_is_reported_with_its_cell_number_and_line()
    {
        int cell = NthCell("code", 4);
        var difference = Single(Altered(cells => cells[cell - 1]!["source"] = Source(cells[cell - 1]!) + "\nvar extra = 1;"), NotebookDifferenceKind.Code);
        Assert.Equal(cell, difference.CellNumber);
        Assert.StartsWith($"cell {cell}: the code differs from the English cell", difference.ToString());
        Assert.Contains("`var extra = 1;`", difference.Message);
    }

    [Fact]
    public void A_library_path_left_at_the_english_depth_is_reported_as_such()
    {
        int cell = NthCell("code", 1);
        var difference = Single(Altered(cells => cells[cell - 1]!["source"] = Source(cells[cell - 1]!).Replace("\"../../lib/", "\"../lib/", StringComparison.Ordinal)),
            NotebookDifferenceKind.Code);
        Assert.Equal(cell, difference.CellNumber);
        Assert.Contains("keeps the English notebook's \"../lib/; the translation lies one folder deeper and needs \"../../lib/", difference.Message);
    }

    [Fact]
    public void A_removed_cell_is_reported_where_the_cells_stop_pairing()
    {
        int cell = NthCell("code", 5);
        var difference = Single(Altered(cells => cells.RemoveAt(cell - 1)), NotebookDifferenceKind.CellCount);
        Assert.Equal(cell, difference.CellNumber);
        int count = Cells(JsonNode.Parse(English)!).Count;
        Assert.Contains($"the English notebook has {count} cells and the translation {count - 1}: the cells stop pairing at cell {cell}", difference.Message);

        // The last cell: nothing is shifted, and the English cell has no translation.
        difference = Single(Altered(cells => cells.RemoveAt(cells.Count - 1)), NotebookDifferenceKind.CellCount);
        Assert.Equal(count, difference.CellNumber);
        Assert.Contains($"the English cells from cell {count} on have no translation", difference.Message);
    }

    [Fact]
    public void A_swapped_cell_type_is_reported_with_its_cell_number()
    {
        int cell = NthCell("code", 3);
        var difference = Single(Altered(cells =>
        {
            var code = cells[cell - 1]!.AsObject();
            code["cell_type"] = "markdown";
            code.Remove("outputs");
            code.Remove("execution_count");
        }), NotebookDifferenceKind.CellType);
        Assert.Equal(cell, difference.CellNumber);
        Assert.Equal($"cell {cell}: a markdown cell where the English notebook has a code cell.", difference.ToString());
    }

    [Fact]
    public void An_untranslated_markdown_cell_is_reported_with_its_cell_number()
    {
        int cell = NthCell("markdown", 3);
        var english = Cells(JsonNode.Parse(English)!)[cell - 1]!;
        var difference = Single(Altered(cells => cells[cell - 1]!["source"] = Source(english)), NotebookDifferenceKind.Untranslated);
        Assert.Equal(cell, difference.CellNumber);
        Assert.Contains("has no Chinese characters", difference.Message);
    }

    /// <summary>A translated markdown cell that lost a formula, a code span or a link of the English one (or was not
    /// updated when the English changed) is reported, naming what it lacks; repeating one is fine.</summary>
    [Fact]
    public void A_translation_that_lacks_the_english_math_code_or_link_is_reported_as_stale()
    {
        var englishCells = Cells(JsonNode.Parse(English)!);
        int MarkdownWith(string text) => englishCells.Select((c, i) => (c, i + 1))
            .First(p => p.c!["cell_type"]!.GetValue<string>() == "markdown" && Source(p.c!).Contains(text, StringComparison.Ordinal)).Item2;

        int math = MarkdownWith("$H(e_y) = 0$");
        var difference = Single(Altered(cells => cells[math - 1]!["source"] = Source(cells[math - 1]!).Replace("$H(e_y) = 0$", "H = 0", StringComparison.Ordinal)),
            NotebookDifferenceKind.StaleMarkdown);
        Assert.Equal(math, difference.CellNumber);
        Assert.Contains("the translation lacks what the English cell has: math $H(e_y) = 0$", difference.Message);

        int code = MarkdownWith("`SoftTargets.Entropy`");
        difference = Single(Altered(cells => cells[code - 1]!["source"] = Source(cells[code - 1]!).Replace("`SoftTargets.Entropy`", "`SoftTargets.Entropy2`", StringComparison.Ordinal)),
            NotebookDifferenceKind.StaleMarkdown);
        Assert.Contains("code `SoftTargets.Entropy`", difference.Message);

        int link = MarkdownWith("](02-temperature.ipynb)");
        difference = Single(Altered(cells => cells[link - 1]!["source"] = Source(cells[link - 1]!).Replace("](02-temperature.ipynb)", "](03-kl-vs-cross-entropy.ipynb)", StringComparison.Ordinal)),
            NotebookDifferenceKind.StaleMarkdown);
        Assert.Contains("link 02-temperature.ipynb", difference.Message);

        int number = MarkdownWith("10,000 test images");
        difference = Single(Altered(cells => cells[number - 1]!["source"] = Source(cells[number - 1]!).Replace("10,000", "1,000", StringComparison.Ordinal)),
            NotebookDifferenceKind.StaleMarkdown);
        Assert.Contains("number 10,000", difference.Message);

        // A repeated formula, and the zh-TW README for the English one, are not differences.
        Assert.Empty(NotebookEditions.Compare(English, Altered(cells => cells[math - 1]!["source"] = Source(cells[math - 1]!) + "（$H(e_y) = 0$）")));
        Assert.Contains(englishCells.Select(c => Source(c!)), c => c.Contains("](../README.md", StringComparison.Ordinal)); // the sample does link the README
    }

    [Fact]
    public void Outputs_in_a_translation_are_reported_with_their_cell_number()
    {
        int cell = NthCell("code", 2);
        var difference = Single(Altered(cells => cells[cell - 1]!["outputs"] = new JsonArray(new JsonObject
        {
            ["output_type"] = "stream",
            ["name"] = "stdout",
            ["text"] = "hello",
        })), NotebookDifferenceKind.Outputs);
        Assert.Equal(cell, difference.CellNumber);
    }

    [Fact]
    public void A_missing_translation_is_reported_by_its_path()
    {
        string missing = Path.Combine(Chinese.Directory(NotebookFiles.RepoRoot), "99-no-such-notebook.ipynb");
        var differences = NotebookEditions.CompareFiles(Path.Combine(NotebookFiles.Directory, Sample), missing);
        var difference = Assert.Single(differences);
        Assert.Equal(NotebookDifferenceKind.MissingNotebook, difference.Kind);
        Assert.Null(difference.CellNumber);
        Assert.StartsWith($"{missing} is missing", difference.ToString());
    }

    [Fact]
    public void Editions_are_found_by_language_and_by_folder()
    {
        Assert.True(NotebookEditions.TryParse("zh-tw", out var chinese));
        Assert.Same(Chinese, chinese);
        Assert.False(NotebookEditions.TryParse("fr", out _));
        Assert.Equal("en or zh-TW", NotebookEditions.Choices);
        Assert.Contains("the editions are en or zh-TW", Assert.Throws<ArgumentException>(() => NotebookEditions.Parse("fr")).Message);

        Assert.Same(Chinese, NotebookEditions.Of(Translation(Sample)));
        Assert.Same(Chinese, NotebookEditions.Of(Path.Combine(NotebookFiles.RepoRoot, "artifacts", "solved", "zh-TW", Sample)));
        Assert.Same(NotebookEditions.English, NotebookEditions.Of(Path.Combine(NotebookFiles.Directory, Sample)));
        Assert.Equal("notebooks/zh-TW", Chinese.RelativeDirectory);
        Assert.Equal("../../", Chinese.ToRepositoryRoot);
        Assert.Equal(Path.Combine("artifacts", "apps", "zh-TW"), Chinese.Below(Path.Combine("artifacts", "apps")));
        Assert.Equal(Path.Combine("artifacts", "apps"), NotebookEditions.English.Below(Path.Combine("artifacts", "apps")));
    }
}

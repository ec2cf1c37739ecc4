using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>Checks that every committed notebook, of every edition (notebooks/, notebooks/zh-TW/), is clean, in VS Code's
/// format, pinned, numbered without gaps, and follows the style guide in its language.</summary>
public partial class NotebookHygieneTests
{
    /// <summary>Every notebook of every edition, relative to notebooks/: <c>00-setup.ipynb</c>, <c>zh-TW/00-setup.ipynb</c>.</summary>
    public static TheoryData<string> Notebooks() => NotebookFiles.EveryEdition();

    public static TheoryData<string> Editions() => [.. NotebookEditions.All.Select(e => e.Language)];

    /// <summary>The style guide's closing headings, in each edition's language.</summary>
    static readonly Dictionary<string, (string Summary, string Exercises)> Headings = new()
    {
        ["en"] = ("## Summary", "## Exercises"),
        ["zh-TW"] = ("## 總結", "## 練習"),
    };

    static string PathOf(string name) => Path.Combine(NotebookFiles.Directory, name);

    static NotebookEdition EditionOf(string name) => NotebookEditions.Of(PathOf(name));

    static JsonObject Load(string name) => JsonNode.Parse(File.ReadAllText(PathOf(name)))!.AsObject();

    static IEnumerable<JsonObject> Cells(JsonObject nb) => nb["cells"]!.AsArray().Select(c => c!.AsObject());

    /// <summary>A cell's source, whether nbformat stores it as a string or as a list of lines.</summary>
    internal static string Source(JsonNode cell) => cell["source"] switch
    {
        JsonArray lines => string.Concat(lines.Select(l => l!.GetValue<string>())),
        JsonValue v => v.GetValue<string>(),
        _ => "",
    };

    [Theory]
    [MemberData(nameof(Editions))]
    public void There_are_notebooks(string language) => Assert.NotEmpty(NotebookFiles.All(NotebookEditions.Parse(language)));

    [Fact]
    public void Every_edition_has_its_closing_headings() =>
        Assert.Equal(NotebookEditions.All.Select(e => e.Language).Order(), Headings.Keys.Order());

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Committed_notebook_has_no_outputs(string name)
    {
        foreach (var (cell, i) in Cells(Load(name)).Select((c, i) => (c, i + 1)))
        {
            if (cell["cell_type"]!.GetValue<string>() != "code") continue;
            Assert.True(cell["outputs"] is JsonArray { Count: 0 }, $"{name}, cell {i}: committed notebooks must carry no outputs (clear them before committing).");
            Assert.True(cell["execution_count"] is null, $"{name}, cell {i}: execution_count must be null.");
        }
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_uses_the_format_VS_Code_writes(string name)
    {
        var nb = Load(name);
        Assert.Equal(4, nb["nbformat"]!.GetValue<int>());
        Assert.Equal(".net-csharp", nb["metadata"]?["kernelspec"]?["name"]?.GetValue<string>());
        Assert.Equal("csharp", nb["metadata"]?["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]?.GetValue<string>());
        foreach (var (cell, i) in Cells(nb).Select((c, i) => (c, i + 1)))
        {
            if (cell["cell_type"]!.GetValue<string>() != "code") continue;
            Assert.True(cell["metadata"]?["polyglot_notebook"]?["kernelName"]?.GetValue<string>() == "csharp",
                $"{name}, cell {i}: code cells need metadata.polyglot_notebook.kernelName = \"csharp\".");
        }
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Nuget_references_use_the_pinned_versions(string name)
    {
        var pinned = PinnedVersions();
        foreach (var (cell, i) in Cells(Load(name)).Select((c, i) => (c, i + 1)))
        {
            if (cell["cell_type"]!.GetValue<string>() != "code") continue;
            foreach (Match m in NugetReference().Matches(Source(cell)))
            {
                string package = m.Groups["package"].Value.Trim(), version = m.Groups["version"].Value.Trim();
                Assert.True(version.Length > 0, $"{name}, cell {i}: #r \"nuget: {package}\" has no version; pin it as in Directory.Packages.props.");
                Assert.True(pinned.TryGetValue(package, out var expected), $"{name}, cell {i}: {package} is not pinned in Directory.Packages.props.");
                Assert.True(expected == version, $"{name}, cell {i}: {package} {version} differs from the pinned {expected}.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Editions))]
    public void Notebook_names_are_numbered_without_gaps(string language)
    {
        var names = NotebookFiles.All(NotebookEditions.Parse(language)).Select(Path.GetFileName).OfType<string>().ToList();
        for (int i = 0; i < names.Count; i++)
        {
            Assert.Matches(NotebookName(), names[i]);
            Assert.True(names[i].StartsWith($"{i:00}-", StringComparison.Ordinal), $"Expected notebook {i:00}-*.ipynb, found {names[i]}.");
        }
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_follows_the_style_guide(string name)
    {
        var cells = Cells(Load(name)).ToList();
        Assert.Equal("markdown", cells[0]["cell_type"]!.GetValue<string>());
        Assert.StartsWith("# ", Source(cells[0]));
        for (int i = 0; i < cells.Count; i++)
        {
            if (cells[i]["cell_type"]!.GetValue<string>() == "code")
                Assert.True(i > 0 && cells[i - 1]["cell_type"]!.GetValue<string>() == "markdown",
                    $"{name}, cell {i + 1}: every code cell needs a markdown cell before it that says why it exists.");
        }
        var markdown = string.Join("\n", cells.Where(c => c["cell_type"]!.GetValue<string>() == "markdown").Select(Source));
        var (summary, exercises) = Headings[EditionOf(name).Language];
        var lines = markdown.Split('\n');
        int summaryAt = Array.FindIndex(lines, l => l.StartsWith(summary, StringComparison.Ordinal));
        int exercisesAt = Array.FindIndex(lines, l => l.StartsWith(exercises, StringComparison.Ordinal));
        Assert.True(summaryAt >= 0, $"{name}: the notebook needs a '{summary}' heading (3-5 bullets) near its end.");
        Assert.True(exercisesAt > summaryAt, $"{name}: the notebook needs a '{exercises}' heading after '{summary}'.");
    }

    /// <summary>Each notebook links to the previous and the next notebook (the English edition's numbering), beside it in
    /// the same edition's folder (that the files exist is <see cref="Relative_links_point_to_files_that_exist"/>).</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_links_to_the_previous_and_the_next_notebook_of_its_edition(string name)
    {
        var markdown = string.Join("\n", Cells(Load(name)).Where(c => c["cell_type"]!.GetValue<string>() == "markdown").Select(Source));
        var english = NotebookFiles.All().Select(Path.GetFileName).OfType<string>().ToList();
        int number = english.IndexOf(Path.GetFileName(name));
        Assert.True(number >= 0, $"{name} has no English original notebooks/{Path.GetFileName(name)}.");
        foreach (var (neighbour, which) in new[] { (number - 1, "previous"), (number + 1, "next") })
            if (neighbour >= 0 && neighbour < english.Count)
                Assert.True(markdown.Contains($"]({english[neighbour]})", StringComparison.Ordinal), $"{name}: no link to the {which} notebook, ]({english[neighbour]}).");
    }

    /// <summary>Relative links in the markdown (the glossary, solutions/, the README, other notebooks) point to files
    /// that exist: a translation, one folder deeper, needs one more <c>../</c>.</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Relative_links_point_to_files_that_exist(string name)
    {
        string folder = Path.GetDirectoryName(PathOf(name))!;
        foreach (var (cell, i) in Cells(Load(name)).Select((c, i) => (c, i + 1)).Where(p => p.c["cell_type"]!.GetValue<string>() == "markdown"))
            foreach (Match m in MarkdownLink().Matches(Source(cell)))
            {
                string target = m.Groups["target"].Value.Split('#')[0];
                if (target.Length == 0 || Regex.IsMatch(target, "^[A-Za-z][A-Za-z0-9+.-]*:")) continue; // an anchor, https:, mailto:
                Assert.True(File.Exists(Path.Combine(folder, target)) || Directory.Exists(Path.Combine(folder, target)),
                    $"{name}, cell {i}: the link ]({m.Groups["target"].Value}) points to nothing ({Path.GetRelativePath(NotebookFiles.RepoRoot, Path.GetFullPath(Path.Combine(folder, target)))}).");
            }
    }

    /// <summary>The first two code cells of every notebook of an edition are the same: the pinned packages and the build
    /// check (<c>#load "../lib/LibraryBuild.csx"</c>, <c>"../../lib/</c> in a translation's folder, which builds the
    /// library when it is missing or stale), then, in a cell of its own because C# resolves a cell's <c>#r</c> before
    /// running its code, the library's Release build and <c>TorchNative.EnsureLoaded()</c> before any torch call. No
    /// other cell references the library.</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Every_notebook_starts_with_the_same_two_setup_cells(string name)
    {
        var edition = EditionOf(name);
        List<string> CodeOf(JsonObject nb) => Cells(nb).Where(c => c["cell_type"]!.GetValue<string>() == "code").Select(Source).ToList();
        var code = CodeOf(Load(name));
        var reference = CodeOf(JsonNode.Parse(File.ReadAllText(NotebookFiles.All(edition)[0]))!.AsObject());
        Assert.True(code.Count >= 2, $"{name} has fewer than two code cells.");
        Assert.Equal(reference[0], code[0]);
        Assert.Equal(reference[1], code[1]);

        string root = edition.ToRepositoryRoot;
        Assert.EndsWith($"#load \"{root}lib/LibraryBuild.csx\"", code[0].TrimEnd());
        Assert.True(File.Exists(Path.Combine(NotebookFiles.RepoRoot, "lib", "LibraryBuild.csx")), "lib/LibraryBuild.csx is missing.");
        Assert.DoesNotContain("KnowledgeDistillation.dll", code[0]);
        Assert.Equal($"#r \"{root}{LibraryBuild.TutorialFromRoot}\"\nKnowledgeDistillation.Runtime.TorchNative.EnsureLoaded().Action", code[1].TrimEnd());
        for (int i = 2; i < code.Count; i++)
            Assert.False(code[i].Contains("KnowledgeDistillation.dll", StringComparison.Ordinal) || code[i].Contains("#load", StringComparison.Ordinal),
                $"{name}, code cell {i + 1}: only the first two code cells load packages, scripts and the library.");
    }

    internal static Dictionary<string, string> PinnedVersions()
    {
        var doc = XDocument.Load(Path.Combine(NotebookFiles.RepoRoot, "Directory.Packages.props"));
        var properties = doc.Descendants("PropertyGroup").Elements().ToDictionary(e => e.Name.LocalName, e => e.Value);
        return doc.Descendants("PackageVersion").ToDictionary(
            e => e.Attribute("Include")!.Value,
            e => Regex.Replace(e.Attribute("Version")!.Value, @"\$\((\w+)\)", m => properties[m.Groups[1].Value]),
            StringComparer.OrdinalIgnoreCase);
    }

    [GeneratedRegex(@"#r\s+""nuget:\s*(?<package>[^,""]+)(,\s*(?<version>[^""]*))?""")]
    private static partial Regex NugetReference();

    [GeneratedRegex(@"^\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb$")]
    private static partial Regex NotebookName();

    /// <summary>A markdown link or image: <c>](target)</c> or <c>](target "title")</c>.</summary>
    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    internal static partial Regex MarkdownLink();
}

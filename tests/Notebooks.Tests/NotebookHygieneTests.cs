using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Notebooks.Tests;

/// <summary>Checks that every committed notebook is clean, in VS Code's format, pinned, and numbered without gaps.</summary>
public partial class NotebookHygieneTests
{
    public static TheoryData<string> Notebooks() => [.. NotebookFiles.All().Select(Path.GetFileName).OfType<string>()];

    static JsonObject Load(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(NotebookFiles.Directory, name)))!.AsObject();

    static IEnumerable<JsonObject> Cells(JsonObject nb) => nb["cells"]!.AsArray().Select(c => c!.AsObject());

    static string Source(JsonObject cell) => cell["source"] switch
    {
        JsonArray lines => string.Concat(lines.Select(l => l!.GetValue<string>())),
        JsonValue v => v.GetValue<string>(),
        _ => "",
    };

    [Fact]
    public void There_are_notebooks() => Assert.NotEmpty(NotebookFiles.All());

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

    [Fact]
    public void Notebook_names_are_numbered_without_gaps()
    {
        var names = NotebookFiles.All().Select(Path.GetFileName).OfType<string>().ToList();
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
        Assert.Contains("## Summary", markdown);
        Assert.Matches(@"\]\(\d\d-[a-z0-9-]+\.ipynb\)", markdown); // a link to a neighbouring notebook
    }

    /// <summary>The first two code cells of every notebook are the same: the pinned packages and the build check
    /// (<c>#load "../lib/LibraryBuild.csx"</c>, which builds the library when it is missing or stale), then, in a cell of
    /// its own because C# resolves a cell's <c>#r</c> before running its code, the library's Release build and
    /// <c>TorchNative.EnsureLoaded()</c> before any torch call. No other cell references the library.</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Every_notebook_starts_with_the_same_two_setup_cells(string name)
    {
        var code = Cells(Load(name)).Where(c => c["cell_type"]!.GetValue<string>() == "code").Select(Source).ToList();
        var reference = Cells(Load(NotebookFiles.All().Select(Path.GetFileName).First()!)).Where(c => c["cell_type"]!.GetValue<string>() == "code").Select(Source).ToList();
        Assert.True(code.Count >= 2, $"{name} has fewer than two code cells.");
        Assert.Equal(reference[0], code[0]);
        Assert.Equal(reference[1], code[1]);

        Assert.EndsWith("#load \"../lib/LibraryBuild.csx\"", code[0].TrimEnd());
        Assert.True(File.Exists(Path.Combine(NotebookFiles.RepoRoot, "lib", "LibraryBuild.csx")), "lib/LibraryBuild.csx is missing.");
        Assert.DoesNotContain("KnowledgeDistillation.dll", code[0]);
        Assert.Equal($"#r \"{LibraryBuild.RelativeToNotebooks}\"\nKnowledgeDistillation.Runtime.TorchNative.EnsureLoaded().Action", code[1].TrimEnd());
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
}

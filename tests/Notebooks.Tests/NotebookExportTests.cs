using System.Text.Json.Nodes;
using KnowledgeDistillation.Notebooks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Notebooks.Tests;

/// <summary>The notebook-to-file-based-app conversion, on a small notebook and on every real one.</summary>
public class NotebookExportTests
{
    static readonly NotebookExportOptions Options = new("../lib/KnowledgeDistillation.Tutorial/KnowledgeDistillation.Tutorial.csproj", "notebooks/99-sample.ipynb", "../notebooks");

    static string Notebook(params (string Type, string Source)[] cells) => new JsonObject
    {
        ["cells"] = new JsonArray(cells.Select(c => (JsonNode)new JsonObject
        {
            ["cell_type"] = c.Type,
            ["metadata"] = new JsonObject(),
            ["source"] = c.Source,
        }).ToArray()),
        ["metadata"] = new JsonObject(),
        ["nbformat"] = 4,
        ["nbformat_minor"] = 2,
    }.ToJsonString();

    static string Sample() => NotebookExport.ToFileBasedApp(Notebook(
        ("markdown", "# Title\n\nSome *prose*."),
        ("code", "#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#r \"nuget: Plotly.NET.Interactive, 6.0.0\"\n" +
                 "#r \"../lib/KnowledgeDistillation/bin/Release/net10.0/KnowledgeDistillation.dll\"\n" +
                 "KnowledgeDistillation.Runtime.TorchNative.EnsureLoaded().Action"),
        ("code", "using System.Text;\nrecord Point(int X, int Y);\nvar p = new Point(1, 2);\nnew Point(p.Y, p.X)"),
        ("code", "Console.WriteLine(p)"),
        ("code", "var view = display(\"starting\", \"text/html\");\nview.Update(p);")), Options);

    [Fact]
    public void Nuget_references_become_package_directives_and_the_library_a_project_directive()
    {
        var app = Sample();
        Assert.Contains("#:package TorchSharp-cpu@0.107.0", app);
        Assert.DoesNotContain("Plotly.NET.Interactive", app); // a kernel extension; the app draws charts itself
        Assert.Contains("#:project ../lib/KnowledgeDistillation.Tutorial/KnowledgeDistillation.Tutorial.csproj", app);
        Assert.DoesNotContain("#r ", app);
        // File-based apps default to Native AOT, which turns off reflection-based JSON (notebook 04 failed reading a
        // pretrained teacher's manifest); the notebook ran on the full runtime.
        Assert.Contains("#:property PublishAot=false", app);
        // Directives come before any code, as the SDK requires.
        var lines = app.Split('\n');
        int lastDirective = Array.FindLastIndex(lines, l => l.StartsWith("#:", StringComparison.Ordinal));
        Assert.All(lines.Take(lastDirective), l => Assert.True(l.StartsWith("#:", StringComparison.Ordinal) || l.StartsWith("//", StringComparison.Ordinal), l));
    }

    [Fact]
    public void Markdown_becomes_comments_and_trailing_expressions_become_display_calls()
    {
        var app = Sample();
        Assert.Contains("// # Title\n//\n// Some *prose*.", app);
        Assert.Contains("display(KnowledgeDistillation.Runtime.TorchNative.EnsureLoaded().Action);", app);
        Assert.Contains("display(new Point(p.Y, p.X));", app);
        Assert.Contains("Console.WriteLine(p);", app); // returns nothing: no display
        Assert.Contains("var view = display(\"starting\", \"text/html\");\nview.Update(p);", app);
        Assert.Contains("UseNotebookFolder(\"../notebooks\");", app);
    }

    [Fact]
    public void Usings_move_to_the_top_and_types_to_the_end()
    {
        var app = Sample();
        int usingAt = app.IndexOf("using System.Text;", StringComparison.Ordinal);
        int firstCode = app.IndexOf("UseNotebookFolder", StringComparison.Ordinal);
        int record = app.IndexOf("record Point(int X, int Y);", StringComparison.Ordinal);
        Assert.True(usingAt >= 0 && usingAt < firstCode, "using directives must precede the statements");
        Assert.True(record > app.IndexOf("view.Update(p);", StringComparison.Ordinal), "type declarations must follow the top-level statements");
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(app, "using System.Text;"));
        AssertParses(app);
    }

    [Fact]
    public void A_loop_variable_named_like_a_top_level_variable_of_another_cell_is_renamed()
    {
        // Separate submissions allow this; one program's top-level scope does not (CS0136).
        var app = NotebookExport.ToFileBasedApp(Notebook(
            ("code", "foreach (var T in new[] { 1.0, 2.0 })\n    Console.WriteLine($\"T = {T}, {Math.Max(T, 0)}\");"),
            ("code", "double T = 4;\nvar o = new { T = 1 };\nConsole.WriteLine(o.T + T)")), Options);
        Assert.Contains("foreach (var T_1 in new[] { 1.0, 2.0 })", app);
        Assert.Contains("Console.WriteLine($\"T = {T_1}, {Math.Max(T_1, 0)}\");", app);
        Assert.Contains("double T = 4;", app);
        Assert.Contains("Console.WriteLine(o.T + T);", app);
        AssertParses(app);
    }

    [Fact]
    public void Magic_commands_and_unknown_dll_references_are_refused_with_the_cell_number()
    {
        var magic = Assert.Throws<InvalidDataException>(() => NotebookExport.ToFileBasedApp(Notebook(("markdown", "x"), ("code", "#!time\n1")), Options));
        Assert.Contains("cell 2", magic.Message);
        var dll = Assert.Throws<InvalidDataException>(() => NotebookExport.ToFileBasedApp(Notebook(("code", "#r \"other.dll\"")), Options));
        Assert.Contains("cell 1", dll.Message);
    }

    [Fact]
    public void A_zh_TW_notebooks_deeper_library_paths_become_the_project_and_its_chinese_markdown_comments()
    {
        var app = NotebookExport.ToFileBasedApp(Notebook(
            ("markdown", "# 標題\n\n一些*說明*。"),
            ("code", "#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#load \"../../lib/LibraryBuild.csx\""),
            ("code", "#r \"../../lib/KnowledgeDistillation.Tutorial/bin/Release/net10.0/KnowledgeDistillation.Tutorial.dll\"\nKnowledgeDistillation.Runtime.TorchNative.EnsureLoaded().Action")),
            new NotebookExportOptions("../../../lib/KnowledgeDistillation.Tutorial/KnowledgeDistillation.Tutorial.csproj", "notebooks/zh-TW/99-sample.ipynb", "../../../notebooks/zh-TW"));
        Assert.Contains("// # 標題\n//\n// 一些*說明*。", app);
        Assert.Contains("#:project ../../../lib/KnowledgeDistillation.Tutorial/KnowledgeDistillation.Tutorial.csproj", app);
        Assert.DoesNotContain("../../lib/", app.Replace("../../../lib/", "", StringComparison.Ordinal));
        Assert.DoesNotContain("#r ", app);
        Assert.DoesNotContain("#load", app);
        Assert.Contains("UseNotebookFolder(\"../../../notebooks/zh-TW\");", app);
        Assert.Contains("from notebooks/zh-TW/99-sample.ipynb", app);
        AssertParses(app);
    }

    /// <summary>Every notebook of every edition, relative to notebooks/ (<c>zh-TW/01-soft-and-hard-labels.ipynb</c>).</summary>
    public static TheoryData<string> Notebooks() => NotebookFiles.EveryEdition();

    /// <summary>The notebook exported as <c>kd notebooks export</c> does into artifacts/apps/ (a translation's into
    /// artifacts/apps/zh-TW/): the library's project and the notebook's folder relative to there.</summary>
    static string Export(string name)
    {
        string notebook = Path.Combine(NotebookFiles.Directory, name);
        string apps = NotebookEditions.Of(notebook).Below(Path.Combine(NotebookFiles.RepoRoot, "artifacts", "apps"));
        string Relative(string path) => Path.GetRelativePath(apps, path).Replace('\\', '/');
        return NotebookExport.ToFileBasedApp(File.ReadAllText(notebook), new NotebookExportOptions(
            Relative(Path.Combine(NotebookFiles.RepoRoot, "lib", "KnowledgeDistillation.Tutorial", "KnowledgeDistillation.Tutorial.csproj")),
            Path.GetRelativePath(NotebookFiles.RepoRoot, notebook).Replace('\\', '/'), Relative(Path.GetDirectoryName(notebook)!)));
    }

    /// <summary>Exports are generated on demand, so they cannot go stale; this checks that every notebook exports to C#
    /// that parses as a program. (Running one end to end is in <see cref="NotebooksCommandTests"/>.)</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Every_notebook_exports_to_a_program_that_parses(string name)
    {
        var app = Export(name);
        var edition = NotebookEditions.Of(Path.Combine(NotebookFiles.Directory, name));
        string up = edition.IsTranslation ? "../../../" : "../../"; // from artifacts/apps/zh-TW/, from artifacts/apps/
        Assert.Contains($"#:project {up}lib/KnowledgeDistillation.Tutorial/KnowledgeDistillation.Tutorial.csproj", app);
        Assert.Contains($"UseNotebookFolder(\"{up}{edition.RelativeDirectory}\");", app);
        // The markdown, in the edition's language, as comments: the title, for one.
        string title = NotebookHygieneTests.Source(JsonNode.Parse(File.ReadAllText(Path.Combine(NotebookFiles.Directory, name)))!["cells"]![0]!).Split('\n')[0];
        Assert.Contains("\n// " + title + "\n", app);
        Assert.Contains("#:package TorchSharp-cpu@", app);
        AssertParses(app);
    }

    /// <summary>
    /// Compiles every export as the SDK would (top-level statements, implicit usings, nullable off), against the
    /// framework and the assemblies in kd's Release build (the library, TorchSharp, Plotly.NET, Microsoft.Data.Analysis),
    /// in memory: seconds, where building each app with `dotnet run` takes half a minute and 490 MB of libtorch.
    /// </summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Every_notebook_exports_to_a_program_that_compiles(string name)
    {
        LibraryBuild.EnsureCurrent();
        var app = Export(name);
        var code = string.Join('\n', app.Split('\n').Select(l => l.StartsWith("#:", StringComparison.Ordinal) ? "" : l));
        const string implicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
                                      "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;";
        var options = CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview);
        var compilation = CSharpCompilation.Create(Path.GetFileNameWithoutExtension(name),
            [CSharpSyntaxTree.ParseText(implicitUsings, options), CSharpSyntaxTree.ParseText(code, options, path: name)],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Disable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors.Take(20)));
    }

    static readonly Lazy<List<MetadataReference>> References = new(() =>
    {
        var framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var kd = Path.Combine(NotebookFiles.RepoRoot, "lib", "KnowledgeDistillation.Cli", "bin", "Release", "net10.0");
        Assert.True(File.Exists(Path.Combine(kd, "KnowledgeDistillation.dll")), $"{kd} has no build of kd; dotnet test Notebooks.sln -c Release builds it.");
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var references = new List<MetadataReference>();
        foreach (var dll in Directory.GetFiles(framework, "*.dll").Concat(Directory.GetFiles(kd, "*.dll")))
        {
            if (!names.Add(Path.GetFileName(dll))) continue;
            try
            {
                System.Reflection.AssemblyName.GetAssemblyName(dll); // managed assemblies only
                references.Add(MetadataReference.CreateFromFile(dll));
            }
            catch (BadImageFormatException)
            {
            }
        }
        return references;
    });

    static void AssertParses(string app)
    {
        // The #: directives are the SDK's; the compiler sees them as ignored preprocessor lines.
        var code = string.Join('\n', app.Split('\n').Select(l => l.StartsWith("#:", StringComparison.Ordinal) ? "" : l));
        var tree = CSharpSyntaxTree.ParseText(code, CSharpParseOptions.Default.WithLanguageVersion(LanguageVersion.Preview));
        var errors = tree.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors));
    }
}

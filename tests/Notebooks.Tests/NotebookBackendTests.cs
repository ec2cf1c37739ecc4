using System.Text.Json.Nodes;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary><c>--backend cuda</c>: the switch from TorchSharp-cpu to TorchSharp's CUDA package, as a pure function on a
/// cell and on every real notebook.</summary>
public class NotebookBackendTests
{
    const string Setup = "#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#r \"nuget: Plotly.NET.Interactive, 6.0.0\"\n" +
                         "#r \"../lib/KnowledgeDistillation/bin/Release/net10.0/KnowledgeDistillation.dll\"\n" +
                         "KnowledgeDistillation.Runtime.TorchNative.EnsureLoaded().Action";

    [Fact]
    public void Cuda_switches_the_TorchSharp_cpu_line_to_the_cuda_package_at_the_same_version_and_nothing_else()
    {
        Assert.Equal(Setup.Replace("TorchSharp-cpu", "TorchSharp-cuda-linux"), NotebookBackend.ApplyToSource(Setup, TorchBackend.Cuda, windows: false));
        Assert.Equal(Setup.Replace("TorchSharp-cpu", "TorchSharp-cuda-windows"), NotebookBackend.ApplyToSource(Setup, TorchBackend.Cuda, windows: true));
        Assert.Equal("  #r \"nuget:TorchSharp-cuda-linux,0.107.0\"  \r\nx",
            NotebookBackend.ApplyToSource("  #r \"nuget:TorchSharp-cpu,0.107.0\"  \r\nx", TorchBackend.Cuda, windows: false));
    }

    [Fact]
    public void Cpu_and_code_that_only_mentions_the_package_stay_unchanged()
    {
        Assert.Equal(Setup, NotebookBackend.ApplyToSource(Setup, TorchBackend.Cpu));
        const string prose = "// the notebooks load #r \"nuget: TorchSharp-cpu, 0.107.0\" in their first cell\nConsole.WriteLine(\"TorchSharp-cpu\");";
        Assert.Equal(prose, NotebookBackend.ApplyToSource(prose, TorchBackend.Cuda, windows: false));
    }

    [Fact]
    public void Backends_parse_from_cpu_and_cuda_and_anything_else_is_refused_by_name()
    {
        Assert.Equal(TorchBackend.Cpu, NotebookBackend.Parse("cpu"));
        Assert.Equal(TorchBackend.Cuda, NotebookBackend.Parse(" CUDA "));
        var e = Assert.Throws<ArgumentException>(() => NotebookBackend.Parse("rocm"));
        Assert.StartsWith("Unknown backend 'rocm': use cpu or cuda.", e.Message);
        Assert.False(NotebookBackend.TryParse(null, out _));
        Assert.Equal(OperatingSystem.IsWindows() ? "TorchSharp-cuda-windows" : "TorchSharp-cuda-linux", NotebookBackend.Package(TorchBackend.Cuda));
        Assert.Equal("TorchSharp-cpu", NotebookBackend.Package(TorchBackend.Cpu));
    }

    public static TheoryData<string> Notebooks() => [.. NotebookFiles.All().Select(Path.GetFileName).OfType<string>()];

    /// <summary>Every notebook has exactly one TorchSharp reference, in its first code cell; the switch changes that
    /// line only, and the JSON stays a notebook the exporter reads.</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Every_notebook_switches_its_one_reference_in_the_first_code_cell(string name)
    {
        string json = File.ReadAllText(Path.Combine(NotebookFiles.Directory, name));
        var (switched, count) = NotebookBackend.ApplyToNotebook(json, TorchBackend.Cuda, windows: false);
        Assert.Equal(1, count);

        var before = CodeCells(json);
        var after = CodeCells(switched);
        Assert.Equal(before.Count, after.Count);
        Assert.Contains("#r \"nuget: TorchSharp-cuda-linux, 0.107.0\"\n", after[0]);
        Assert.Equal(before[0].Replace("TorchSharp-cpu", "TorchSharp-cuda-linux"), after[0]);
        Assert.Equal(before.Skip(1), after.Skip(1));

        Assert.Equal((json, 0), NotebookBackend.ApplyToNotebook(json, TorchBackend.Cpu));

        var options = new NotebookExportOptions("../lib/KnowledgeDistillation.Tutorial/KnowledgeDistillation.Tutorial.csproj", $"notebooks/{name}", "../notebooks");
        var app = NotebookExport.ToFileBasedApp(switched, options);
        Assert.Contains("#:package TorchSharp-cuda-linux@0.107.0", app);
        Assert.DoesNotContain("#:package TorchSharp-cpu", app);
    }

    static List<string> CodeCells(string json) =>
        JsonNode.Parse(json)!["cells"]!.AsArray()
            .Where(c => c!["cell_type"]!.GetValue<string>() == "code")
            .Select(c => c!["source"] is JsonArray lines ? string.Concat(lines.Select(l => l!.GetValue<string>())) : c["source"]!.GetValue<string>())
            .ToList();
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using KnowledgeDistillation.Notebooks;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>
/// The harness runs notebooks in the <c>dotnet-interactive</c> tool that VS Code starts, pinned in
/// .config/dotnet-tools.json, and nowhere else: a notebook that fails only there fails here, a tool that is not restored
/// is named with the command to run, and the first cell builds the library when its DLL is missing.
/// </summary>
public class RealKernelTests(ITestOutputHelper output)
{
    [Fact]
    public void The_manifest_pins_the_tool_version_that_Polyglot_Notebooks_installs()
    {
        Assert.Equal("1.0.712001", InteractiveTool.PinnedVersion(NotebookFiles.RepoRoot));
        Assert.Equal(NotebookFiles.RepoRoot, InteractiveTool.FindManifestRoot(NotebookFiles.Directory));
    }

    [Fact]
    public void A_notebook_that_breaks_only_in_the_real_kernel_fails_the_harness()
    {
        var fixture = Path.Combine(NotebookFiles.FixturesDirectory, "real-kernel-only.ipynb");
        var result = NotebookProcess.Run(fixture, executedPath: null);
        output.WriteLine(result.Log);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAILURE real-kernel-only.ipynb: cell 4 (code cell 2) failed", result.Log);
        Assert.Contains("FSharp.Core, Version=10.1.0.0", result.Log);
    }

    [Fact]
    public async Task A_kernel_that_does_not_start_is_reported_with_what_to_run()
    {
        var start = InteractiveTool.StartInfo(NotebookFiles.RepoRoot, NotebookFiles.Directory);
        start.ArgumentList[2] = "kd-no-such-tool"; // `dotnet tool run kd-no-such-tool -- ...`
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StdioKernel.StartAsync(start, TimeSpan.FromMinutes(1), InteractiveTool.RestoreHint(NotebookFiles.RepoRoot)));
        output.WriteLine(e.Message);
        Assert.StartsWith("The notebook kernel did not start (it exited with code ", e.Message);
        Assert.Contains("kd-no-such-tool", e.Message);
        Assert.Contains("Run `dotnet tool restore` in ", e.Message);
    }

    [Fact]
    public void Event_envelopes_are_read_and_other_lines_skipped()
    {
        var message = StdioKernel.Parse("""{"event":{"message":"boom"},"eventType":"CommandFailed","command":{"token":"kd-3","commandType":"SubmitCode"}}""");
        Assert.NotNull(message);
        Assert.Equal("CommandFailed", message.EventType);
        Assert.Equal("kd-3", message.CommandToken);
        Assert.Equal("boom", message.Event["message"]!.GetValue<string>());
        Assert.Null(StdioKernel.Parse(""));
        Assert.Null(StdioKernel.Parse("Welcome to .NET Interactive"));
        Assert.Null(StdioKernel.Parse("{ not json"));
        Assert.Null(StdioKernel.Parse("""{"commandType":"SubmitCode"}"""));
    }

    /// <summary>A tiny repository laid out as this one (Notebooks.sln, lib/KnowledgeDistillation and
    /// lib/KnowledgeDistillation.Tutorial on top of it, notebooks/) with the
    /// real lib/LibraryBuild.csx: on "Run All" the first cell builds the missing library and the second loads it; once
    /// built, nothing is rebuilt; a library that does not compile stops the first cell with the command to run.</summary>
    [Fact]
    public void The_first_cell_builds_a_missing_library_and_names_the_command_when_the_build_fails()
    {
        string root = Path.Combine(NotebookFiles.RepoRoot, "artifacts", "tests", "library-build");
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        string library = Path.Combine(root, "lib", "KnowledgeDistillation");
        Directory.CreateDirectory(library);
        Directory.CreateDirectory(Path.Combine(root, "notebooks"));
        File.WriteAllText(Path.Combine(root, "Notebooks.sln"), "");
        // Stop MSBuild from importing this repository's props files above the tiny repository.
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />\n");
        File.Copy(Path.Combine(NotebookFiles.RepoRoot, "lib", "LibraryBuild.csx"), Path.Combine(root, "lib", "LibraryBuild.csx"));
        File.WriteAllText(Path.Combine(library, "KnowledgeDistillation.csproj"),
            "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>\n");
        string tutorial = Path.Combine(root, "lib", "KnowledgeDistillation.Tutorial");
        Directory.CreateDirectory(tutorial);
        File.WriteAllText(Path.Combine(tutorial, "KnowledgeDistillation.Tutorial.csproj"),
            "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>" +
            "<ItemGroup><ProjectReference Include=\"../KnowledgeDistillation/KnowledgeDistillation.csproj\" /></ItemGroup></Project>\n");
        File.WriteAllText(Path.Combine(tutorial, "Shout.cs"),
            "namespace KnowledgeDistillation.Tutorial; public static class Shout { public static string Loud() => KnowledgeDistillation.Hello.Greet().ToUpperInvariant(); }\n");
        string source = Path.Combine(library, "Hello.cs");
        File.WriteAllText(source, "namespace KnowledgeDistillation; public static class Hello { public static string Greet() => \"hello from the built library\"; }\n");
        string notebook = Path.Combine(root, "notebooks", "uses-library.ipynb");
        File.WriteAllText(notebook, Notebook(
            "#load \"../lib/LibraryBuild.csx\"",
            // One #r, of the tutorial assembly: the kernel finds the core next to it, for the compiler and at run time.
            "#r \"../lib/KnowledgeDistillation.Tutorial/bin/Release/net10.0/KnowledgeDistillation.Tutorial.dll\"\n" +
            "Console.WriteLine(KnowledgeDistillation.Tutorial.Shout.Loud() + \" / \" + KnowledgeDistillation.Hello.Greet());"));
        string executed = Path.Combine(root, "executed.ipynb");

        var first = NotebookProcess.Run(notebook, executed);
        output.WriteLine(first.Log);
        Assert.True(first.ExitCode == 0, first.Log);
        string outputs = File.ReadAllText(executed);
        Assert.Contains("is not built yet: running `dotnet build lib/KnowledgeDistillation.Tutorial -c Release`", outputs);
        Assert.Contains("HELLO FROM THE BUILT LIBRARY / hello from the built library", outputs);

        var second = NotebookProcess.Run(notebook, executed);
        Assert.True(second.ExitCode == 0, second.Log);
        outputs = File.ReadAllText(executed);
        Assert.DoesNotContain("running `dotnet build", outputs);
        Assert.Contains("HELLO FROM THE BUILT LIBRARY / hello from the built library", outputs);

        File.WriteAllText(source, "namespace KnowledgeDistillation; public static class Hello { public static string Greet() => 42; }\n");
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddMinutes(1)); // newer than the DLL, whatever the clock's resolution
        var broken = NotebookProcess.Run(notebook, executedPath: null);
        output.WriteLine(broken.Log);
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("FAILURE uses-library.ipynb: cell 2 (code cell 1) failed", broken.Log);
        Assert.Contains("is older than lib/KnowledgeDistillation/Hello.cs, and building it failed", broken.Log);
        Assert.Contains("run `dotnet build lib/KnowledgeDistillation.Tutorial -c Release` in " + root, broken.Log);
        Assert.Contains("CS0029", broken.Log); // the build's own error, quoted
    }

    static string Notebook(params string[] code)
    {
        var cells = new JsonArray();
        foreach (var source in code)
        {
            cells.Add(new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = "Why the next cell exists." });
            cells.Add(new JsonObject
            {
                ["cell_type"] = "code",
                ["execution_count"] = null,
                ["metadata"] = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" } },
                ["outputs"] = new JsonArray(),
                ["source"] = source,
            });
        }
        var notebook = new JsonObject
        {
            ["cells"] = cells,
            ["metadata"] = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelInfo"] = new JsonObject { ["defaultKernelName"] = "csharp" } } },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 2,
        };
        return notebook.ToJsonString();
    }
}

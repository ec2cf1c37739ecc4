using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>
/// <c>kd notebooks run</c> and <c>kd notebooks export</c> end to end, as a user runs them: the real kd (the Release
/// build next to the library) and <c>dotnet run</c> of an exported app. Quick mode, notebook 00 (it has a chart and a
/// table and runs in seconds).
/// </summary>
public class NotebooksCommandTests(ITestOutputHelper output)
{
    static string KdDll => Path.Combine(NotebookFiles.RepoRoot, "lib", "KnowledgeDistillation.Cli", "bin", "Release", "net10.0", "kd.dll");

    static (int ExitCode, string Output) Dotnet(TimeSpan timeout, IDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = NotebookFiles.RepoRoot };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var (finished, exitCode, log, _) = NotebookProcess.Capture(start, timeout);
        if (!finished)
            Assert.Fail($"dotnet {string.Join(' ', args)} did not finish in {timeout.TotalMinutes:0} minutes:{Environment.NewLine}{log}");
        return (exitCode, log);
    }

    static (int ExitCode, string Output) Kd(params string[] args)
    {
        Assert.True(File.Exists(KdDll), $"{KdDll} is missing; dotnet test Notebooks.sln -c Release builds it.");
        return Dotnet(TimeSpan.FromMinutes(10), null, [KdDll, .. args]);
    }

    static string TestFolder(string name)
    {
        var folder = Path.Combine(NotebookFiles.RepoRoot, "artifacts", "tests", name);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        return folder;
    }

    [Fact]
    public void Run_writes_a_valid_executed_notebook_and_an_offline_html_page_with_the_chart()
    {
        LibraryBuild.EnsureCurrent();
        var folder = TestFolder("notebooks-run");
        var (code, log) = Kd("notebooks", "run", "00", "--quick", "--out", folder);
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("[1/1] 00-setup (quick mode)", log);
        Assert.Matches(@"cell +15 ok .*execute_result\{text/html\}", log); // progress per cell: the chart

        var executed = Path.Combine(folder, "00-setup.ipynb");
        var errors = NbFormat.Errors(File.ReadAllText(executed));
        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors));
        Assert.Contains("\"output_type\": \"execute_result\"", File.ReadAllText(executed));

        var html = File.ReadAllText(Path.Combine(folder, "00-setup.html"));
        Assert.Contains("<h1>00 · Setup", html);
        Assert.Contains("Plotly.newPlot(", html);                       // the chart's script
        Assert.Contains("\"type\":\"heatmap\"", html);                  // and its data
        Assert.Contains("plotly.js v", html);                           // plotly.js itself, embedded: works offline
        Assert.Contains("window.requirejs = function", html);
        Assert.Contains("<table", html);                                // the class-count DataFrame
        Assert.Contains("Not attempted yet: replace 0 with a call to KdEnvironment.Pick", html); // the exercise's stub
        Assert.DoesNotContain("class=\"nb-output nb-error\"", html);

        // The folder's contents page names the notebook by its heading.
        Assert.Contains($"wrote {Path.Combine(folder, "index.html")}", log);
        Assert.Matches(@"<li><a href=""00-setup.html"">00 · Setup[^<]+</a></li>", File.ReadAllText(Path.Combine(folder, "index.html")));
    }

    /// <summary>A teacher's two ways to show the solutions: <c>solve</c> writes copies elsewhere whose library paths
    /// still resolve (the copy runs in the kernel and its check says "Correct"), and <c>run --solutions</c> executes
    /// them in place; neither changes the notebook.</summary>
    [Fact]
    public void Solve_writes_runnable_copies_with_the_solutions_and_run_solutions_executes_them()
    {
        LibraryBuild.EnsureCurrent();
        var notebook = Path.Combine(NotebookFiles.Directory, "00-setup.ipynb");
        var original = File.ReadAllText(notebook);
        var solved = TestFolder("notebooks-solve");
        var (code, log) = Kd("notebooks", "solve", "00", "--out", solved);
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("(1 exercise(s) solved)", log);
        var copy = Path.Combine(solved, "00-setup.ipynb");
        Assert.Contains("int batchSize = KdEnvironment.Pick(full: 256, quick: 32);", File.ReadAllText(copy));
        Assert.Contains("#load \\\"../../../lib/LibraryBuild.csx\\\"", File.ReadAllText(copy)); // three folders below the root, not one

        var executedFolder = TestFolder("notebooks-solve-run");
        (code, log) = Kd("notebooks", "run", copy, "--quick", "--out", executedFolder);
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("Correct: batch size 32 in quick mode.", File.ReadAllText(Path.Combine(executedFolder, "00-setup.html")));

        var ran = TestFolder("notebooks-run-solutions");
        (code, log) = Kd("notebooks", "run", "00", "--solutions", "--quick", "--out", ran);
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("00-setup (quick mode, with the solutions)", log);
        Assert.Contains("Correct: batch size 32 in quick mode.", File.ReadAllText(Path.Combine(ran, "00-setup.html")));
        Assert.Equal(original, File.ReadAllText(notebook));
    }

    /// <summary><c>--lang zh-TW</c> runs the Traditional Chinese notebook (notebooks/zh-TW/, one folder deeper) with the
    /// solutions, into artifacts/notebooks/zh-TW/ by default: a page marked zh-Hant-TW, in Chinese, whose check accepts
    /// the shared solution in Chinese.</summary>
    [Fact]
    public void Run_with_lang_zh_TW_runs_the_chinese_notebook_into_a_zh_TW_folder()
    {
        LibraryBuild.EnsureCurrent();
        var folder = Path.Combine(NotebookFiles.ExecutedDirectory, "zh-TW");
        // On a fresh clone the folder does not exist yet (File.Delete throws for a missing folder); kd creates it.
        if (Directory.Exists(folder))
            foreach (var file in new[] { "00-setup.ipynb", "00-setup.html" }) File.Delete(Path.Combine(folder, file));
        var (code, log) = Kd("notebooks", "run", "00", "--lang", "zh-TW", "--solutions", "--quick");
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("[1/1] 00-setup (zh-TW, quick mode, with the solutions)", log);
        Assert.Contains($"wrote {Path.Combine(folder, "00-setup.html")}", log);
        Assert.Empty(NbFormat.Errors(File.ReadAllText(Path.Combine(folder, "00-setup.ipynb"))));

        var html = File.ReadAllText(Path.Combine(folder, "00-setup.html"));
        Assert.Contains("<html lang=\"zh-Hant-TW\">", html);
        Assert.Contains("<h1>00 · 環境設定", html);
        Assert.Contains("\"Noto Sans CJK TC\"", html);
        Assert.Contains("正確：快速模式的批次大小是 32。", html); // the shared solution, judged in the notebook's language
        Assert.DoesNotContain("Correct:", html);
        Assert.DoesNotContain("class=\"nb-output nb-error\"", html);
    }

    /// <summary><c>solve</c> and <c>export</c> with <c>--lang zh-TW</c> read notebooks/zh-TW/ and write to a zh-TW
    /// subfolder of their default folders; the copies' paths resolve from there (three folders below the root).</summary>
    [Fact]
    public void Solve_and_export_with_lang_zh_TW_write_the_chinese_notebook_into_zh_TW_folders()
    {
        var notebook = Path.Combine(NotebookFiles.Directory, "zh-TW", "00-setup.ipynb");
        var original = File.ReadAllText(notebook);

        var solved = KdWrites(Path.Combine("artifacts", "solved", "zh-TW", "00-setup.ipynb"), "notebooks", "solve", "00", "--lang", "zh-TW");
        Assert.Contains("int batchSize = KdEnvironment.Pick(full: 256, quick: 32);", solved);
        Assert.Contains("#load \\\"../../../lib/LibraryBuild.csx\\\"", solved);
        Assert.Contains("環境設定", solved);

        var source = KdWrites(Path.Combine("artifacts", "apps", "zh-TW", "00-setup.cs"), "notebooks", "export", "00", "--lang", "zh-TW");
        Assert.Contains("generated by `kd notebooks export` from notebooks/zh-TW/00-setup.ipynb", source);
        Assert.Contains("#:project ../../../lib/KnowledgeDistillation.Tutorial/KnowledgeDistillation.Tutorial.csproj", source);
        Assert.Contains("UseNotebookFolder(\"../../../notebooks/zh-TW\");", source);
        Assert.Contains("\n// # 00 · 環境設定", source);
        Assert.Equal(original, File.ReadAllText(notebook));
    }

    /// <summary>The self-checks choose their language by the notebook's folder, so solved zh-TW copies written to a folder
    /// not named zh-TW would answer in English: solve says so, and says nothing for a folder named zh-TW.</summary>
    [Fact]
    public void Solve_with_lang_zh_TW_warns_when_the_copies_folder_would_make_the_checks_speak_english()
    {
        var folder = TestFolder("solve-zh-TW-elsewhere");
        var (code, log) = Kd("notebooks", "solve", "00", "--lang", "zh-TW", "--out", folder);
        Assert.True(code == 0, log);
        Assert.Contains($"wrote {Path.Combine(folder, "00-setup.ipynb")}", log);
        Assert.Contains($"{folder} is not one: these copies' checks will answer in English unless KD_LANG=zh-TW is set", log);

        var named = Path.Combine(folder, "zh-TW");
        (code, log) = Kd("notebooks", "solve", "00", "--lang", "zh-TW", "--out", named);
        Assert.True(code == 0, log);
        Assert.DoesNotContain("note:", log);
        (code, log) = Kd("notebooks", "solve", "00", "--out", folder); // English copies: nothing to say
        Assert.True(code == 0, log);
        Assert.DoesNotContain("note:", log);
    }

    /// <summary>Runs kd, which must succeed and say that it wrote <paramref name="relativePath"/> (from the repository
    /// root); returns that file's text.</summary>
    static string KdWrites(string relativePath, params string[] args)
    {
        string path = Path.Combine(NotebookFiles.RepoRoot, relativePath);
        if (File.Exists(path)) File.Delete(path); // a fresh clone has no artifacts folder yet
        var (code, log) = Kd(args);
        Assert.True(code == 0, log);
        Assert.Contains($"wrote {path}", log);
        return File.ReadAllText(path);
    }

    [Fact]
    public void Run_reports_a_failing_cell_with_the_notebook_the_cell_number_and_the_error()
    {
        var folder = TestFolder("notebooks-run-broken");
        var (code, log) = Kd("notebooks", "run", Path.Combine(NotebookFiles.FixturesDirectory, "broken.ipynb"), "--out", folder);
        output.WriteLine(log);
        Assert.Equal(1, code);
        Assert.Contains("failed: broken.ipynb: cell 4 (code cell 2) failed:", log);
        Assert.Contains("the deliberate failure", log);
        Assert.DoesNotContain("must not run", log);
        // The page is still written, with the error where it happened.
        Assert.Contains("class=\"nb-output nb-error\"", File.ReadAllText(Path.Combine(folder, "broken.html")));
        Assert.Empty(NbFormat.Errors(File.ReadAllText(Path.Combine(folder, "broken.ipynb"))));
    }

    [Fact]
    public void An_unknown_notebook_is_a_usage_error()
    {
        var (code, log) = Kd("notebooks", "run", "42");
        Assert.Equal(2, code);
        Assert.Contains("No notebook matches '42'", log);
    }

    [Theory]
    [InlineData("run", "--backend", "rocm", "--backend must be cpu or cuda, not 'rocm'.")]
    [InlineData("export", "--backend", "rocm", "--backend must be cpu or cuda, not 'rocm'.")]
    [InlineData("run", "--lang", "fr", "--lang must be en or zh-TW, not 'fr'.")]
    [InlineData("export", "--lang", "fr", "--lang must be en or zh-TW, not 'fr'.")]
    [InlineData("solve", "--lang", "fr", "--lang must be en or zh-TW, not 'fr'.")]
    public void An_unknown_backend_or_language_is_a_usage_error_that_names_the_choices(string subcommand, string option, string value, string message)
    {
        var (code, log) = Kd("notebooks", subcommand, "00", option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, log);
    }

    [Fact]
    public void Export_with_the_cuda_backend_references_the_cuda_package_and_leaves_the_notebook_alone()
    {
        var folder = TestFolder("notebooks-export-cuda");
        var notebook = Path.Combine(NotebookFiles.Directory, "00-setup.ipynb");
        var original = File.ReadAllText(notebook);
        var (code, log) = Kd("notebooks", "export", "00", "--backend", "cuda", "--out", folder);
        Assert.True(code == 0, log);
        var app = File.ReadAllText(Path.Combine(folder, "00-setup.cs"));
        Assert.Contains($"#:package {(OperatingSystem.IsWindows() ? "TorchSharp-cuda-windows" : "TorchSharp-cuda-linux")}@0.107.0", app);
        Assert.DoesNotContain("#:package TorchSharp-cpu", app);
        Assert.Equal(original, File.ReadAllText(notebook));
    }

    /// <summary>Exports are generated on demand (artifacts/ is git-ignored), so they cannot go stale: this exports
    /// notebook 00 afresh and runs it with `dotnet run`, as the README says.</summary>
    [Fact]
    public void An_exported_notebook_runs_end_to_end_as_a_file_based_app_in_quick_mode()
    {
        LibraryBuild.EnsureCurrent();
        // A fixed folder: dotnet caches each app's build by its path, so the second run of this test builds less.
        var folder = Path.Combine(NotebookFiles.RepoRoot, "artifacts", "tests", "apps");
        Directory.CreateDirectory(folder);
        var outputs = Path.Combine(folder, "00-setup.output");
        if (Directory.Exists(outputs)) Directory.Delete(outputs, recursive: true);

        var (code, log) = Kd("notebooks", "export", "00", "--out", folder);
        Assert.True(code == 0, log);
        var app = Path.Combine(folder, "00-setup.cs");
        Assert.Contains("#:package TorchSharp-cpu@0.107.0", File.ReadAllText(app));

        var clock = Stopwatch.StartNew();
        (code, log) = Dotnet(TimeSpan.FromMinutes(10), new Dictionary<string, string> { ["KD_QUICK"] = "1" }, "run", app);
        output.WriteLine($"dotnet run took {clock.Elapsed.TotalSeconds:F0} s");
        output.WriteLine(log);
        Assert.True(code == 0, log);
        Assert.Contains("quick mode                    on (KD_QUICK=1)", log);
        Assert.Contains("train: images 2000×1×28×28", log);
        Assert.Contains("Not attempted yet: replace 0 with a call to KdEnvironment.Pick", log);
        Assert.Matches(@"\[chart\] .*00-setup\.output.02-chart\.html", log);
        Assert.Contains("T-shirt/top", log); // the table, printed as text
        var chart = File.ReadAllText(Path.Combine(outputs, "02-chart.html"));
        Assert.Contains("Plotly.newPlot(", chart);
        Assert.Contains("src=\"plotly.min.js\"", chart);
        Assert.True(new FileInfo(Path.Combine(outputs, "plotly.min.js")).Length > 1_000_000, "plotly.js is written next to the charts");
        Assert.Contains("<td>T-shirt/top</td>", File.ReadAllText(Path.Combine(outputs, "03-table.html")));
    }
}

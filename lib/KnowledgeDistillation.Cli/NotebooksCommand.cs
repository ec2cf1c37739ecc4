using System.CommandLine;
using System.Diagnostics;
using KnowledgeDistillation.Apps;
using KnowledgeDistillation.Notebooks;
using KnowledgeDistillation.Runtime;

namespace KnowledgeDistillation.Cli;

/// <summary>
/// <c>kd notebooks run</c>: runs notebooks headless in the kernel VS Code starts (the dotnet-interactive tool), each in a
/// fresh kernel process, as the test harness does, and writes
/// the executed .ipynb and a static HTML page per notebook. <c>kd notebooks export</c>: writes each notebook as a .NET
/// 10 file-based app. Both take <c>--backend cpu|cuda</c>: <c>cuda</c> swaps the notebooks' TorchSharp-cpu reference for
/// TorchSharp's CUDA package at the same version (<see cref="NotebookBackend"/>); the notebook files are not changed.
/// </summary>
static class NotebooksCommand
{
    public static Command Create()
    {
        var command = new Command("notebooks", "Run notebooks headless (executed .ipynb and static HTML), or export them as .NET 10 file-based apps.");
        command.Subcommands.Add(RunCommand());
        command.Subcommands.Add(ExportCommand());
        command.Subcommands.Add(SolveCommand());
        return command;
    }

    static Argument<string[]> Names() => new("names")
    {
        Description = "Notebooks by number (05), name (05-feature-based-distillation) or path; all of notebooks/ when none.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    static Option<string> Backend()
    {
        var option = new Option<string>("--backend")
        {
            Description = $"cpu ({NotebookBackend.CpuPackage}, as the notebooks reference it) or cuda ({NotebookBackend.CudaPackage(OperatingSystem.IsWindows())} " +
                          "at the same version, for NVIDIA GPUs). The notebook files are not changed.",
            DefaultValueFactory = _ => "cpu",
        };
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!NotebookBackend.TryParse(v, out _)) r.AddError($"--backend must be cpu or cuda, not '{v}'.");
        });
        return option;
    }

    static Command RunCommand()
    {
        var names = Names();
        var quick = new Option<bool>("--quick") { Description = "Quick mode (KD_QUICK=1): small data, few epochs, as the tests run." };
        var outDir = new Option<string>("--out") { Description = "Where the executed .ipynb and .html go.", DefaultValueFactory = _ => Path.Combine("artifacts", "notebooks") };
        var timeout = new Option<int>("--cell-timeout") { Description = "The most minutes one cell may run.", DefaultValueFactory = _ => 60 };
        var backend = Backend();
        var solutions = new Option<bool>("--solutions")
        {
            Description = $"Fill in every exercise's reference solution from {NotebookSolutions.FolderName}/NN-topic.md before running (for teachers); the notebook files are not changed.",
        };
        var command = new Command("run", "Execute notebooks headless, each in a fresh kernel of the dotnet-interactive tool that VS Code starts (run `dotnet tool restore` once). " +
                                         "Writes NN-topic.ipynb with outputs and NN-topic.html (charts work offline) to --out.")
        {
            names, quick, outDir, timeout, backend, solutions,
        };
        command.SetAction(parse => Cli.Guard(() => Run(parse.GetValue(names) ?? [], parse.GetValue(quick), parse.GetValue(outDir)!, parse.GetValue(timeout),
            NotebookBackend.Parse(parse.GetValue(backend)), parse.GetValue(solutions))));
        return command;
    }

    static Command SolveCommand()
    {
        var names = Names();
        var outDir = new Option<string>("--out") { Description = "Where the solved notebooks go.", DefaultValueFactory = _ => Path.Combine("artifacts", "solved") };
        var command = new Command("solve", $"Write copies of the notebooks with every exercise's reference solution ({NotebookSolutions.FolderName}/NN-topic.md) in place of its stub, " +
                                           "for a teacher to open and run; library paths are rewritten to work from --out. The notebooks themselves are not changed.")
        {
            names, outDir,
        };
        command.SetAction(parse => Cli.Guard(() => Solve(parse.GetValue(names) ?? [], parse.GetValue(outDir)!)));
        return command;
    }

    static Command ExportCommand()
    {
        var names = Names();
        var outDir = new Option<string>("--out") { Description = "Where the .cs files go.", DefaultValueFactory = _ => Path.Combine("artifacts", "apps") };
        var backend = Backend();
        var command = new Command("export", "Write each notebook as a .NET 10 file-based app, NN-topic.cs, to run with 'dotnet run NN-topic.cs'.")
        {
            names, outDir, backend,
        };
        command.SetAction(parse => Cli.Guard(() => Export(parse.GetValue(names) ?? [], parse.GetValue(outDir)!, NotebookBackend.Parse(parse.GetValue(backend)))));
        return command;
    }

    static string RepoRoot() => RepoPaths.Root ?? throw new IOException("Run kd inside the repository: Notebooks.sln was not found above the current folder.");

    /// <summary>Resolves "05", "05-topic", "05-topic.ipynb" or a path to notebook files; all notebooks when none given.</summary>
    internal static IReadOnlyList<string> Resolve(IReadOnlyList<string> names, string notebooksDirectory)
    {
        var all = Directory.GetFiles(notebooksDirectory, "*.ipynb").Order(StringComparer.Ordinal).ToList();
        if (names.Count == 0) return all.Count > 0 ? all : throw new IOException($"No notebooks in {notebooksDirectory}.");
        var found = new List<string>();
        foreach (var name in names)
        {
            if (name.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase) && File.Exists(name))
            {
                found.Add(Path.GetFullPath(name));
                continue;
            }
            var stem = Path.GetFileNameWithoutExtension(name);
            var matches = all.Where(f => Path.GetFileNameWithoutExtension(f) == stem || Path.GetFileName(f).StartsWith(stem + "-", StringComparison.Ordinal)).ToList();
            if (matches.Count != 1)
                throw new ArgumentException(matches.Count == 0
                    ? $"No notebook matches '{name}'. Notebooks: {string.Join(", ", all.Select(Path.GetFileNameWithoutExtension))}."
                    : $"'{name}' matches several notebooks: {string.Join(", ", matches.Select(Path.GetFileName))}.");
            found.Add(matches[0]);
        }
        return found;
    }

    static int Run(string[] names, bool quick, string outDir, int cellTimeoutMinutes, TorchBackend backend, bool withSolutions)
    {
        if (cellTimeoutMinutes < 1) throw new ArgumentException("--cell-timeout must be at least 1.");
        var notebooks = Resolve(names, Path.Combine(RepoRoot(), "notebooks"));
        outDir = Path.GetFullPath(outDir);
        Directory.CreateDirectory(outDir);
        string plotly = PlotlyJs.Source;
        var failures = new List<string>();
        int index = 0;
        foreach (var notebook in notebooks)
        {
            index++;
            string name = Path.GetFileNameWithoutExtension(notebook);
            string executed = Path.Combine(outDir, name + ".ipynb");
            string page = Path.Combine(outDir, name + ".html");
            File.Delete(executed);
            var notes = new List<string>();
            if (quick) notes.Add("quick mode");
            if (backend != TorchBackend.Cpu) notes.Add(NotebookBackend.Package(backend));
            if (withSolutions) notes.Add("with the solutions");
            Console.Error.WriteLine($"[{index}/{notebooks.Count}] {name}{(notes.Count > 0 ? $" ({string.Join(", ", notes)})" : "")}");
            var clock = Stopwatch.StartNew();
            var (exitCode, failure) = RunNotebook(notebook, executed, quick, cellTimeoutMinutes, backend,
                withSolutions ? NotebookSolutions.LoadFor(notebook) : null);
            if (File.Exists(executed))
            {
                File.WriteAllText(page, NotebookHtml.Render(File.ReadAllText(executed), name, plotly));
                Console.Error.WriteLine($"  wrote {executed}");
                Console.Error.WriteLine($"  wrote {page}");
            }
            if (exitCode != 0) failures.Add(failure ?? $"{name}.ipynb: the run ended with exit code {exitCode}");
            Console.Error.WriteLine($"  {(exitCode == 0 ? "ok" : "FAILED")} in {clock.Elapsed.TotalSeconds:F1} s");
        }
        if (failures.Count == 0)
        {
            Console.WriteLine($"{notebooks.Count} notebook(s) ran; executed copies and HTML pages in {outDir}");
            return Cli.Ok;
        }
        Console.Error.WriteLine();
        foreach (var f in failures) Console.Error.WriteLine("failed: " + f);
        return Cli.Failure;
    }

    /// <summary>
    /// Runs one notebook in a fresh process of the dotnet-interactive tool (the kernel VS Code starts), printing its
    /// progress per cell; returns the exit code and the failure.
    /// </summary>
    static (int ExitCode, string? Failure) RunNotebook(string notebook, string executed, bool quick, int cellTimeoutMinutes, TorchBackend backend,
        IReadOnlyList<ExerciseSolution>? solutions)
    {
        var log = new StringWriter();
        var options = new NotebookRunOptions
        {
            Quick = quick,
            ExecutedPath = executed,
            CellTimeout = TimeSpan.FromMinutes(cellTimeoutMinutes),
            Backend = backend,
            Solutions = solutions,
        };
        var progress = new ProgressWriter(log);
        int code = NotebookProgress.RunAsync(notebook, options, progress).GetAwaiter().GetResult();
        string text = log.ToString();
        int at = text.IndexOf("FAILURE ", StringComparison.Ordinal);
        return (code, at < 0 ? null : text[(at + "FAILURE ".Length)..].TrimEnd());
    }

    /// <summary>Shows progress lines as they come and keeps the whole log.</summary>
    sealed class ProgressWriter(StringWriter log) : TextWriter
    {
        bool failing;

        public override System.Text.Encoding Encoding => log.Encoding;

        public override void Write(char value) => log.Write(value);

        public override void WriteLine(string? value)
        {
            log.WriteLine(value);
            failing |= value?.StartsWith("FAILURE ", StringComparison.Ordinal) == true;
            if (!failing) Console.Error.WriteLine(value);
        }
    }

    static int Solve(string[] names, string outDir)
    {
        string root = RepoRoot();
        var notebooks = Resolve(names, Path.Combine(root, "notebooks"));
        outDir = Path.GetFullPath(outDir);
        var written = new List<(string Path, int Exercises)>();
        foreach (var notebook in notebooks)
        {
            string name = Path.GetFileName(notebook);
            string json = File.ReadAllText(notebook);
            var solutions = NotebookSolutions.LoadFor(notebook);
            int exercises = NotebookSolutions.Exercises(json).Count;
            string solved;
            try
            {
                solved = NotebookSolutions.Solve(json, solutions);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{name} and {Path.GetRelativePath(root, NotebookSolutions.PathFor(notebook))} do not match: {e.Message}", e);
            }
            written.Add((Path.Combine(outDir, name), exercises));
            Directory.CreateDirectory(outDir);
            File.WriteAllText(written[^1].Path, NotebookSolutions.Relocate(solved, Path.GetDirectoryName(notebook)!, outDir));
        }
        foreach (var (path, exercises) in written)
            Console.WriteLine($"wrote {path} ({exercises} exercise(s) solved)");
        return Cli.Ok;
    }

    static int Export(string[] names, string outDir, TorchBackend backend)
    {
        string root = RepoRoot();
        var notebooks = Resolve(names, Path.Combine(root, "notebooks"));
        outDir = Path.GetFullPath(outDir);
        Directory.CreateDirectory(outDir);
        string library = Path.GetRelativePath(outDir, Path.Combine(root, "lib", "KnowledgeDistillation.Tutorial", "KnowledgeDistillation.Tutorial.csproj"));
        foreach (var notebook in notebooks)
        {
            string name = Path.GetFileNameWithoutExtension(notebook);
            string source = Path.GetRelativePath(root, notebook).Replace('\\', '/');
            string app;
            try
            {
                var (json, _) = NotebookBackend.ApplyToNotebook(File.ReadAllText(notebook), backend);
                app = NotebookExport.ToFileBasedApp(json, new NotebookExportOptions(library, source, Path.GetRelativePath(outDir, Path.GetDirectoryName(notebook)!)));
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{name}.ipynb: {e.Message}", e);
            }
            string path = Path.Combine(outDir, name + ".cs");
            File.WriteAllText(path, app);
            Console.WriteLine($"wrote {path}");
        }
        Console.WriteLine($"Run one with: dotnet run {Path.GetRelativePath(Directory.GetCurrentDirectory(), Path.Combine(outDir, Path.GetFileNameWithoutExtension(notebooks[0]) + ".cs"))}");
        return Cli.Ok;
    }
}

using System.CommandLine;
using System.Diagnostics;
using KnowledgeDistillation.Apps;
using KnowledgeDistillation.Notebooks;
using KnowledgeDistillation.Runtime;

namespace KnowledgeDistillation.Cli;

/// <summary>
/// <c>kd notebooks run</c>: runs notebooks headless in the kernel VS Code starts (the dotnet-interactive tool), each in a
/// fresh kernel process, as the test harness does, and writes
/// the executed .ipynb and a static HTML page per notebook, and an index.html of the folder's pages. <c>kd notebooks export</c>: writes each notebook as a .NET
/// 10 file-based app. Both take <c>--backend cpu|cuda</c>: <c>cuda</c> swaps the notebooks' TorchSharp-cpu reference for
/// TorchSharp's CUDA package at the same version (<see cref="NotebookBackend"/>); the notebook files are not changed.
/// <c>run</c>, <c>export</c> and <c>solve</c> take <c>--lang en|zh-TW</c> (<see cref="NotebookEditions"/>): the
/// notebooks of that edition, from notebooks/zh-TW/ for zh-TW, written by default to a zh-TW subfolder of the default
/// output folder.
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
        Description = "Notebooks by number (05), name (05-feature-based-distillation) or path; all of the edition's notebooks (notebooks/, notebooks/zh-TW/) when none.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    static Option<string> Backend() => Choice("--backend",
        $"cpu ({NotebookBackend.CpuPackage}, as the notebooks reference it) or cuda ({NotebookBackend.CudaPackage(OperatingSystem.IsWindows())} " +
        "at the same version, for NVIDIA GPUs). The notebook files are not changed.",
        "cpu", "cpu or cuda", v => NotebookBackend.TryParse(v, out _));

    static Option<string> Language() => Choice("--lang",
        $"The edition: {string.Join("; ", NotebookEditions.All.Select(e => $"{e.Language}, {e.DisplayName}, in {e.RelativeDirectory}/"))}.",
        NotebookEditions.English.Language, NotebookEditions.Choices, v => NotebookEditions.TryParse(v, out _));

    /// <summary>An option that takes one of a few names, with a default; any other value is a usage error that names the choices.</summary>
    static Option<string> Choice(string name, string description, string defaultValue, string choices, Func<string?, bool> isValid)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!isValid(v)) r.AddError($"{name} must be {choices}, not '{v}'.");
        });
        return option;
    }

    /// <summary>--out, whose default is <paramref name="defaultFolder"/> for English and a subfolder of it for a
    /// translation (artifacts/notebooks/zh-TW); null when not given.</summary>
    static Option<string?> OutFolder(string what, string defaultFolder) => new("--out")
    {
        Description = $"Where {what} go (default: {defaultFolder}; " +
                      string.Join("; ", NotebookEditions.All.Where(e => e.IsTranslation).Select(e => $"{e.Below(defaultFolder)} with --lang {e.Language}")) + ").",
    };

    static string OutFolderOf(string? given, string defaultFolder, NotebookEdition edition) => given ?? edition.Below(defaultFolder);

    static Command RunCommand()
    {
        var names = Names();
        var quick = new Option<bool>("--quick") { Description = "Quick mode (KD_QUICK=1): small data, few epochs, as the tests run." };
        var outDir = OutFolder("the executed .ipynb and .html", DefaultRunFolder);
        var timeout = new Option<int>("--cell-timeout") { Description = "The most minutes one cell may run.", DefaultValueFactory = _ => 60 };
        var backend = Backend();
        var language = Language();
        var solutions = new Option<bool>("--solutions")
        {
            Description = $"Fill in every exercise's reference solution from {NotebookSolutions.FolderName}/NN-topic.md before running (for teachers); the notebook files are not changed.",
        };
        var command = new Command("run", "Execute notebooks headless, each in a fresh kernel of the dotnet-interactive tool that VS Code starts (run `dotnet tool restore` once). " +
                                         "Writes NN-topic.ipynb with outputs and NN-topic.html (charts work offline) to --out.")
        {
            names, quick, outDir, timeout, backend, solutions, language,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var edition = NotebookEditions.Parse(parse.GetValue(language));
            return Run(parse.GetValue(names) ?? [], edition, parse.GetValue(quick), OutFolderOf(parse.GetValue(outDir), DefaultRunFolder, edition), parse.GetValue(timeout),
                NotebookBackend.Parse(parse.GetValue(backend)), parse.GetValue(solutions));
        }));
        return command;
    }

    static Command SolveCommand()
    {
        var names = Names();
        var outDir = OutFolder("the solved notebooks", DefaultSolveFolder);
        var language = Language();
        var command = new Command("solve", $"Write copies of the notebooks with every exercise's reference solution ({NotebookSolutions.FolderName}/NN-topic.md) in place of its stub, " +
                                           "for a teacher to open and run; library paths are rewritten to work from --out. The notebooks themselves are not changed.")
        {
            names, outDir, language,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var edition = NotebookEditions.Parse(parse.GetValue(language));
            return Solve(parse.GetValue(names) ?? [], edition, OutFolderOf(parse.GetValue(outDir), DefaultSolveFolder, edition));
        }));
        return command;
    }

    static Command ExportCommand()
    {
        var names = Names();
        var outDir = OutFolder("the .cs files", DefaultExportFolder);
        var backend = Backend();
        var language = Language();
        var command = new Command("export", "Write each notebook as a .NET 10 file-based app, NN-topic.cs, to run with 'dotnet run NN-topic.cs'.")
        {
            names, outDir, backend, language,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var edition = NotebookEditions.Parse(parse.GetValue(language));
            return Export(parse.GetValue(names) ?? [], edition, OutFolderOf(parse.GetValue(outDir), DefaultExportFolder, edition), NotebookBackend.Parse(parse.GetValue(backend)));
        }));
        return command;
    }

    static readonly string DefaultRunFolder = Path.Combine("artifacts", "notebooks");
    static readonly string DefaultSolveFolder = Path.Combine("artifacts", "solved");
    static readonly string DefaultExportFolder = Path.Combine("artifacts", "apps");

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
                    ? $"No notebook matches '{name}' in {notebooksDirectory}. Notebooks: {string.Join(", ", all.Select(Path.GetFileNameWithoutExtension))}."
                    : $"'{name}' matches several notebooks: {string.Join(", ", matches.Select(Path.GetFileName))}.");
            found.Add(matches[0]);
        }
        return found;
    }

    static int Run(string[] names, NotebookEdition edition, bool quick, string outDir, int cellTimeoutMinutes, TorchBackend backend, bool withSolutions)
    {
        if (cellTimeoutMinutes < 1) throw new ArgumentException("--cell-timeout must be at least 1.");
        var notebooks = Resolve(names, edition.Directory(RepoRoot()));
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
            var language = NotebookEditions.Of(notebook);
            if (language.IsTranslation) notes.Add(language.Language);
            if (quick) notes.Add("quick mode");
            if (backend != TorchBackend.Cpu) notes.Add(NotebookBackend.Package(backend));
            if (withSolutions) notes.Add("with the solutions");
            Console.Error.WriteLine($"[{index}/{notebooks.Count}] {name}{(notes.Count > 0 ? $" ({string.Join(", ", notes)})" : "")}");
            var clock = Stopwatch.StartNew();
            var (exitCode, failure) = RunNotebook(notebook, executed, quick, cellTimeoutMinutes, backend,
                withSolutions ? NotebookSolutions.LoadFor(notebook) : null);
            if (File.Exists(executed))
            {
                File.WriteAllText(page, NotebookHtml.Render(File.ReadAllText(executed), name, plotly, language));
                Console.Error.WriteLine($"  wrote {executed}");
                Console.Error.WriteLine($"  wrote {page}");
            }
            if (exitCode != 0) failures.Add(failure ?? $"{name}.ipynb: the run ended with exit code {exitCode}");
            Console.Error.WriteLine($"  {(exitCode == 0 ? "ok" : "FAILED")} in {clock.Elapsed.TotalSeconds:F1} s");
        }
        Console.Error.WriteLine($"wrote {NotebookHtml.WriteIndex(outDir, edition)} (the pages' contents)");
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

    static int Solve(string[] names, NotebookEdition edition, string outDir)
    {
        string root = RepoRoot();
        var notebooks = Resolve(names, edition.Directory(root));
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
        if (edition.IsTranslation && !string.Equals(Path.GetFileName(outDir), edition.Subfolder, StringComparison.OrdinalIgnoreCase))
            Console.Error.WriteLine($"note: the self-checks speak {edition.DisplayName} in a folder named {edition.Subfolder} (the working directory VS Code gives a notebook), " +
                                    $"and {outDir} is not one: these copies' checks will answer in English unless KD_LANG={edition.Language} is set. " +
                                    $"Leave out --out, or give a folder named {edition.Subfolder}.");
        return Cli.Ok;
    }

    static int Export(string[] names, NotebookEdition edition, string outDir, TorchBackend backend)
    {
        string root = RepoRoot();
        var notebooks = Resolve(names, edition.Directory(root));
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

using KnowledgeDistillation.Notebooks;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>
/// Runs every notebooks/NN-topic.ipynb top to bottom in quick mode (<c>KD_QUICK=1</c>), each in a fresh process of the
/// dotnet-interactive tool that VS Code starts (pinned in .config/dotnet-tools.json), cell by cell over its stdio
/// protocol. Executed copies, with outputs, are written to artifacts/notebooks/. Each exercise's self-check must say
/// "Not attempted yet" on its stub; then, in the same kernel, each exercise cell is submitted again with its hidden
/// solution (solutions/NN-topic.md), and the check must say "Correct", and with each known wrong answer, and the check
/// must say "Not yet" and name the mistake.
/// </summary>
public class NotebookHarnessTests(ITestOutputHelper output)
{
    public static TheoryData<string> Notebooks() => [.. NotebookFiles.All().Select(Path.GetFileName).OfType<string>()];

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_runs_top_to_bottom_in_quick_mode(string name) => RunAndCheck(name, namedMistakes: true);

    public static TheoryData<string> ChineseNotebooks() =>
        [.. NotebookFiles.All(NotebookEditions.TraditionalChinese).Select(p => "zh-TW/" + Path.GetFileName(p))];

    /// <summary>
    /// The Traditional Chinese edition lies one folder deeper (notebooks/zh-TW/), so its setup cells load
    /// <c>"../../lib/</c>, and its code cells are the English ones (a path of the English folder's depth in one would
    /// break only here); this runs each of its notebooks the same way, in its own folder, to the end. There the
    /// self-checks speak Chinese (the library's <c>KdEnvironment.Language</c> reads the folder's name): the stubs say
    /// 尚未作答 ("not attempted yet"), each solution is accepted and each wrong answer rejected. (The mistakes' expected
    /// texts in solutions/ are English; the English run checks that each check names its mistake.)
    /// </summary>
    [Theory]
    [MemberData(nameof(ChineseNotebooks))]
    public void Zh_TW_notebook_runs_top_to_bottom_from_its_deeper_folder(string name)
    {
        var run = RunAndCheck(name, namedMistakes: false);
        var exercises = NotebookSolutions.Exercises(File.ReadAllText(Path.Combine(NotebookFiles.Directory, name)));
        Assert.NotEmpty(exercises);
        foreach (var exercise in exercises)
            Assert.Contains("尚未作答", run.Cells.Single(c => c.CellNumber == exercise.CellNumber).Text);
        Assert.NotEmpty(run.AfterCells!);
        Assert.All(run.AfterCells!, c => Assert.True(c.Text.Contains("正確：", StringComparison.Ordinal) || c.Text.Contains("還不對", StringComparison.Ordinal),
            $"cell {c.CellNumber}: the check's verdict is not in Chinese: {c.Text.Trim()}"));
    }

    /// <summary>Runs notebooks/<paramref name="name"/> (a translation's as <c>zh-TW/NN-topic.ipynb</c>) in quick mode with
    /// its exercises' trials, writes the executed copy to artifacts/notebooks/<paramref name="name"/>, and checks it.</summary>
    NotebookRunResult RunAndCheck(string name, bool namedMistakes)
    {
        LibraryBuild.EnsureCurrent();
        var executed = Path.Combine(NotebookFiles.ExecutedDirectory, name);
        var notebook = Path.Combine(NotebookFiles.Directory, name);
        var json0 = File.ReadAllText(notebook);
        var exercises = NotebookSolutions.Exercises(json0);
        var trials = NotebookSolutions.Trials(json0, NotebookSolutions.LoadFor(notebook));
        var result = NotebookProcess.Run(notebook, executed, afterCells: [.. trials.Select(t => t.Code)]);
        output.WriteLine(result.Log);
        Assert.True(result.ExitCode == 0, $"{name} failed (exit code {result.ExitCode}):{Environment.NewLine}{Failure(result.Log)}");
        CheckExercises(name, exercises, trials, result.Run!, namedMistakes);
        Assert.True(File.Exists(executed), $"the executed copy {executed} was not written");
        var json = File.ReadAllText(executed);
        var errors = NbFormat.Errors(json);
        Assert.True(errors.Count == 0, $"the executed copy {executed} is not valid nbformat 4:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        // A chart renders as Plotly.NET's HTML with its data; a table as HTML; and no assembly failed to load anywhere.
        Assert.DoesNotContain("Could not load file or assembly", json);
        foreach (var (cell, html) in HtmlOutputs(json))
        {
            if (html.Contains("renderPlotly", StringComparison.Ordinal)) // Plotly.NET.Interactive's chart HTML
                Assert.True(html.Contains("Plotly.newPlot(", StringComparison.Ordinal) && html.Contains("var data = [{", StringComparison.Ordinal),
                    $"{name}, cell {cell}: a Plotly output without a chart's data:{Environment.NewLine}{html[..Math.Min(html.Length, 400)]}");
        }
        // Every chart is also written as a Plotly figure, for Jupyter viewers that run no .NET and no output scripts.
        int charts = HtmlOutputs(json).Count(o => o.Html.Contains("renderPlotly", StringComparison.Ordinal));
        Assert.Equal(charts, json.Split($"\"{NotebookCharts.PlotlyMimeType}\"").Length - 1);
        if (name == "00-setup.ipynb")
        {
            // The environment report names the kernel: the tested dotnet-interactive, not an engine of our own.
            Assert.Contains("the dotnet-interactive tool 1.0.712001, the tested version", json);
            Assert.Contains(HtmlOutputs(json), o => o.Html.Contains("<table", StringComparison.Ordinal)); // the DataFrame
        }
        return result.Run!;
    }

    /// <summary>The stubs said "Not attempted yet"; each solution was accepted, and each wrong answer rejected, with its
    /// mistake named when <paramref name="namedMistakes"/>.</summary>
    void CheckExercises(string name, IReadOnlyList<ExerciseCell> exercises, IReadOnlyList<ExerciseTrial> trials, NotebookRunResult run, bool namedMistakes)
    {
        var problems = new List<string>();
        foreach (var exercise in exercises)
        {
            var cell = run.Cells.Single(c => c.CellNumber == exercise.CellNumber);
            if (NotebookSolutions.Verdict(cell.Text) != ExerciseVerdict.NotAttempted)
                problems.Add($"cell {exercise.CellNumber} ({exercise.Key}) as committed: expected 'Not attempted yet', got: {cell.Text.Trim()}");
        }
        var after = run.AfterCells ?? [];
        Assert.Equal(trials.Count, after.Count);
        for (int i = 0; i < trials.Count; i++)
        {
            var (trial, outcome) = (trials[i], after[i]);
            output.WriteLine($"{trial.Label}: {outcome.Text.Trim()}");
            var verdict = NotebookSolutions.Verdict(outcome.Text);
            if (outcome.Error is not null)
                problems.Add($"{trial.Label}: the cell failed: {outcome.Error}");
            else if (verdict != trial.Expected)
                problems.Add($"{trial.Label}: expected {trial.Expected}, the check printed: {outcome.Text.Trim()}");
            else if (namedMistakes && trial.Fragment is { } fragment && !outcome.Text.Contains(fragment, StringComparison.Ordinal))
                problems.Add($"{trial.Label}: the check rejected it but did not say \"{fragment}\"; it printed: {outcome.Text.Trim()}");
        }
        Assert.True(problems.Count == 0, $"{name}: {problems.Count} exercise check(s) did not behave:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    /// <summary>Each text/html output of an executed notebook, with its cell's number.</summary>
    static IEnumerable<(int Cell, string Html)> HtmlOutputs(string json)
    {
        var cells = System.Text.Json.Nodes.JsonNode.Parse(json)!["cells"]!.AsArray();
        for (int i = 0; i < cells.Count; i++)
            foreach (var output in cells[i]!["outputs"]?.AsArray() ?? [])
                if (output?["data"]?["text/html"] is { } html)
                    yield return (i + 1, html is System.Text.Json.Nodes.JsonArray lines ? string.Concat(lines.Select(l => l!.GetValue<string>())) : html.GetValue<string>());
    }

    [Fact]
    public void Harness_reports_a_broken_notebook_with_its_cell_number_and_error()
    {
        var fixture = Path.Combine(NotebookFiles.FixturesDirectory, "broken.ipynb");
        var executed = Path.Combine(NotebookFiles.ExecutedDirectory, "fixtures", "broken.ipynb");
        var result = NotebookProcess.Run(fixture, executed);
        output.WriteLine(result.Log);

        Assert.Equal(1, result.ExitCode);
        var failure = Failure(result.Log);
        Assert.Contains("broken.ipynb: cell 4 (code cell 2) failed", failure);
        Assert.Contains("the deliberate failure", failure);
        Assert.DoesNotContain("must not run", result.Log);
        // The executed copy keeps the first cell's output and records the error where it happened.
        var json = File.ReadAllText(executed);
        Assert.Contains("\"output_type\": \"error\"", json);
        Assert.Contains("before the failure", json);
    }

    [Fact]
    public void Harness_reports_a_compile_error_with_its_cell_number()
    {
        var fixture = Path.Combine(NotebookFiles.FixturesDirectory, "compile-error.ipynb");
        var result = NotebookProcess.Run(fixture, executedPath: null);
        output.WriteLine(result.Log);

        Assert.Equal(1, result.ExitCode);
        var failure = Failure(result.Log);
        Assert.Contains("compile-error.ipynb: cell 3 (code cell 2) failed", failure);
        Assert.Contains("CS0029", failure);
    }

    static string Failure(string log)
    {
        int at = log.IndexOf("FAILURE ", StringComparison.Ordinal);
        return at < 0 ? log : log[at..];
    }
}

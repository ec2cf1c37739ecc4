namespace KnowledgeDistillation.Notebooks;

/// <summary>
/// Runs one notebook for a command line (<c>kd notebooks run</c>, the test harness, the benchmarks): a progress line per
/// cell on a log, and a failure as the line <c>FAILURE notebook: cell N (code cell M) failed: ...</c>.
/// </summary>
public static class NotebookProgress
{
    /// <summary>The progress line of one cell.</summary>
    public static string CellLine(CellOutcome c) =>
        $"  cell {c.CellNumber,3} {(c.Succeeded ? "ok    " : "FAILED")} {c.Elapsed.TotalSeconds,6:F1} s  [{string.Join(", ", c.Outputs)}]";

    /// <summary>Runs <paramref name="notebook"/> and returns an exit code: 0 when every cell succeeded, 1 otherwise
    /// (a failing cell, or a kernel that did not start).</summary>
    /// <param name="notebook">The .ipynb file.</param>
    /// <param name="options">How to run it; its <see cref="NotebookRunOptions.Progress"/> is replaced by lines on <paramref name="log"/>.</param>
    /// <param name="log">Where progress and the failure go.</param>
    public static async Task<int> RunAsync(string notebook, NotebookRunOptions options, TextWriter log) =>
        (await RunWithResultAsync(notebook, options, log)).ExitCode;

    /// <summary>As <see cref="RunAsync"/>, and also returns the run's result (null when the kernel did not start or the
    /// notebook could not be read).</summary>
    public static async Task<(int ExitCode, NotebookRunResult? Result)> RunWithResultAsync(string notebook, NotebookRunOptions options, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        try
        {
            var result = await NotebookRunner.RunAsync(notebook, options with { Progress = c => log.WriteLine(CellLine(c)) });
            log.WriteLine($"{Path.GetFileName(result.NotebookPath)}: {result.Cells.Count} code cell(s) in {result.Elapsed.TotalSeconds:F1} s");
            if (result.FailureMessage is { } failure) log.WriteLine("FAILURE " + failure);
            return (result.Succeeded ? 0 : 1, result);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or InvalidDataException)
        {
            log.WriteLine($"FAILURE {Path.GetFileName(notebook)}: {e.Message}");
            return (1, null);
        }
    }
}

using System.Diagnostics;
using System.Text;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>Runs one notebook in a fresh process of the dotnet-interactive tool, as VS Code does, and runs other
/// commands (kd, dotnet run) as child processes.</summary>
static class NotebookProcess
{
    public sealed record Result(int ExitCode, string Log, TimeSpan Elapsed, NotebookRunResult? Run = null);

    /// <summary>Runs <paramref name="notebook"/> in the real kernel (quick mode by default); the log holds a line per cell
    /// and, on failure, the line <c>FAILURE notebook: cell N (code cell M) failed: ...</c>.</summary>
    /// <param name="afterCells">Code to submit to the same kernel after the notebook (see <see cref="NotebookRunOptions.AfterCells"/>).</param>
    public static Result Run(string notebook, string? executedPath, bool quick = true, TimeSpan? cellTimeout = null, IReadOnlyList<string>? afterCells = null)
    {
        var log = new StringWriter();
        var clock = Stopwatch.StartNew();
        var options = new NotebookRunOptions { Quick = quick, ExecutedPath = executedPath, CellTimeout = cellTimeout ?? TimeSpan.FromMinutes(15), AfterCells = afterCells ?? [] };
        var (code, run) = NotebookProgress.RunWithResultAsync(notebook, options, log).GetAwaiter().GetResult();
        return new Result(code, log.ToString(), clock.Elapsed, run);
    }

    /// <summary>Runs <paramref name="start"/> (with redirected output) and collects its standard output and error as they
    /// come; a process still running after <paramref name="limit"/> is killed with its children (Finished false).</summary>
    public static (bool Finished, int ExitCode, string Log, TimeSpan Elapsed) Capture(ProcessStartInfo start, TimeSpan limit)
    {
        var log = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool finished = process.WaitForExit(limit);
        if (!finished) process.Kill(entireProcessTree: true);
        process.WaitForExit(); // flush the asynchronous readers
        lock (log) return (finished, finished ? process.ExitCode : -1, log.ToString(), clock.Elapsed);
    }
}

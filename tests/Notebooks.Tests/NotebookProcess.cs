using System.Diagnostics;
using System.Text;

namespace Notebooks.Tests;

/// <summary>Runs one notebook in a fresh child process (this assembly's <see cref="Program"/>).</summary>
static class NotebookProcess
{
    public sealed record Result(int ExitCode, string Log, TimeSpan Elapsed);

    public static Result Run(string notebook, string? executedPath, bool quick = true, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add("run-notebook");
        start.ArgumentList.Add(notebook);
        if (executedPath is not null)
        {
            start.ArgumentList.Add("--executed");
            start.ArgumentList.Add(executedPath);
        }
        if (quick) start.ArgumentList.Add("--quick");
        start.Environment["KD_TORCH_NATIVE_QUIET"] = "0";

        var limit = timeout ?? TimeSpan.FromMinutes(15);
        var (finished, exitCode, log, elapsed) = Capture(start, limit);
        return finished
            ? new Result(exitCode, log, elapsed)
            : new Result(-1, log + $"FAILURE {Path.GetFileName(notebook)}: killed after {limit.TotalMinutes:0} minutes{Environment.NewLine}", elapsed);
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

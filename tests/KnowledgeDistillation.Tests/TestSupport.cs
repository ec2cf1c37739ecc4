using System.Diagnostics;
using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Runtime;

namespace KnowledgeDistillation.Tests;

/// <summary>A temporary folder, deleted on dispose.</summary>
sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kd-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

static class Repo
{
    public static string Root => RepoPaths.Root ?? throw new InvalidOperationException("Tests must run inside the repository.");
}

/// <summary>Runs <c>dotnet</c> with arguments in a folder and collects its output, failing the test on a time-out.</summary>
static class DotnetProcess
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string workingDirectory, TimeSpan timeout, IEnumerable<string> args,
        Action<ProcessStartInfo>? configure = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var a in args) start.ArgumentList.Add(a);
        configure?.Invoke(start);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(timeout), $"dotnet {string.Join(' ', start.ArgumentList)} did not finish in {timeout.TotalMinutes:F0} minutes");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>Runs the real <c>kd</c> executable (built next to the tests) from the repository root, as a user would.</summary>
static class KdProcess
{
    public static (int ExitCode, string Output) Run(TimeSpan timeout, params string[] args)
    {
        var (code, stdout, stderr) = DotnetProcess.Run(Repo.Root, timeout, [System.IO.Path.Combine(AppContext.BaseDirectory, "kd.dll"), .. args]);
        return (code, stdout + stderr);
    }

    /// <summary>Starts kd without waiting (to kill it part-way), reading its output as it comes; each line of its standard
    /// output goes to <paramref name="onLine"/>.</summary>
    public static Process Start(Action<string>? onLine, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Repo.Root };
        foreach (var a in (string[])[System.IO.Path.Combine(AppContext.BaseDirectory, "kd.dll"), .. args]) start.ArgumentList.Add(a);
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) onLine?.Invoke(line); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Waits until <paramref name="ready"/> holds, then kills <paramref name="process"/> and its children
    /// (SIGKILL); fails when the process ends first or <paramref name="limit"/> passes.</summary>
    public static void KillWhen(Process process, Func<bool> ready, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            Assert.False(process.HasExited, $"kd finished before {what}");
            Assert.True(clock.Elapsed < limit, $"{what} did not happen in {limit.TotalMinutes:F0} minutes");
            Thread.Sleep(5);
        }
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }
}

/// <summary>Assertions on exercise self-checks: a right answer is accepted, a wrong one rejected with a message that
/// names the mistake.</summary>
static class CheckAssert
{
    public static void Passes(CheckResult result)
    {
        Assert.True(result.Passed, result.Message);
        Assert.StartsWith("Correct", result.Message);
        Assert.Equal(result.Message, result.ToString());
    }

    public static void FailsWith(CheckResult result, params string[] phrases)
    {
        Assert.False(result.Passed, result.Message);
        Assert.StartsWith("Not yet", result.Message);
        foreach (var phrase in phrases) Assert.Contains(phrase, result.Message);
    }
}

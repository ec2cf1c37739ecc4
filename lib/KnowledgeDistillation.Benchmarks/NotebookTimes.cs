using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation.Notebooks;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>One notebook's wall time in one mode.</summary>
sealed record NotebookTime(string Name, bool Quick, double Seconds, bool Ok);

/// <summary>
/// Figure 5: the wall time of each notebook, each in a fresh process of the notebook engine (as <c>kd notebooks run</c>
/// starts it), in quick mode (KD_QUICK=1) and, when asked, in full mode.
/// </summary>
static class NotebookTimes
{
    public static IReadOnlyList<NotebookTime> Measure(string notebooksDirectory, IReadOnlyList<string> only, bool quick, Action<string> log)
    {
        var notebooks = Directory.GetFiles(notebooksDirectory, "*.ipynb").Order(StringComparer.Ordinal)
            .Where(f => only.Count == 0 || only.Any(o => Path.GetFileName(f).StartsWith(o, StringComparison.Ordinal))).ToList();
        string engine = typeof(NotebookRunner).Assembly.Location;
        string outDir = Directory.CreateTempSubdirectory("kd-bench-notebooks-").FullName;
        var times = new List<NotebookTime>();
        try
        {
            foreach (var notebook in notebooks)
            {
                string name = Path.GetFileNameWithoutExtension(notebook);
                var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var arg in new[] { "exec", engine, notebook, "--executed", Path.Combine(outDir, name + ".ipynb"), "--cell-timeout", "60" })
                    start.ArgumentList.Add(arg);
                if (quick) start.ArgumentList.Add("--quick");
                var clock = Stopwatch.StartNew();
                using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the notebook engine.");
                process.OutputDataReceived += (_, _) => { };
                process.ErrorDataReceived += (_, _) => { };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                process.WaitForExit();
                times.Add(new NotebookTime(name, quick, clock.Elapsed.TotalSeconds, process.ExitCode == 0));
                log(string.Create(CultureInfo.InvariantCulture, $"notebooks: {name} ({(quick ? "quick" : "full")}) {times[^1].Seconds:F1} s{(times[^1].Ok ? "" : " FAILED")}"));
            }
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
        return times;
    }
}

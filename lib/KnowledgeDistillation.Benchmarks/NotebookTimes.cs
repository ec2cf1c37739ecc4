using System.Diagnostics;
using System.Globalization;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Notebooks;

namespace KnowledgeDistillation.Benchmarks;

/// <summary>One notebook's wall time in one mode.</summary>
sealed record NotebookTime(string Name, bool Quick, double Seconds, bool Ok);

/// <summary>
/// Figure 5: the wall time of each notebook, each in a fresh kernel of the dotnet-interactive tool (as VS Code and
/// <c>kd notebooks run</c> start it), in quick mode (KD_QUICK=1) and, when asked, in full mode, in order, with a run
/// cache that starts empty.
/// </summary>
static class NotebookTimes
{
    public static IReadOnlyList<NotebookTime> Measure(string notebooksDirectory, IReadOnlyList<string> only, bool quick, Action<string> log)
    {
        var notebooks = Directory.GetFiles(notebooksDirectory, "*.ipynb").Order(StringComparer.Ordinal)
            .Where(f => only.Count == 0 || only.Any(o => Path.GetFileName(f).StartsWith(o, StringComparison.Ordinal))).ToList();
        string outDir = Directory.CreateTempSubdirectory("kd-bench-notebooks-").FullName;
        var times = new List<NotebookTime>();
        // The notebooks' run cache starts empty and lives as long as this measurement, as on a learner's first pass
        // through the notebooks in order (06 then reads back the runs 05 trained, 09 05's scratch students).
        string? cacheBefore = Environment.GetEnvironmentVariable(RunCache.FolderVariable);
        Environment.SetEnvironmentVariable(RunCache.FolderVariable, Path.Combine(outDir, "run-cache"));
        try
        {
            foreach (var notebook in notebooks)
            {
                string name = Path.GetFileNameWithoutExtension(notebook);
                var options = new NotebookRunOptions { Quick = quick, ExecutedPath = Path.Combine(outDir, name + ".ipynb"), CellTimeout = TimeSpan.FromMinutes(60) };
                var clock = Stopwatch.StartNew();
                int code = NotebookProgress.RunAsync(notebook, options, TextWriter.Null).GetAwaiter().GetResult();
                times.Add(new NotebookTime(name, quick, clock.Elapsed.TotalSeconds, code == 0));
                log(string.Create(CultureInfo.InvariantCulture, $"notebooks: {name} ({(quick ? "quick" : "full")}) {times[^1].Seconds:F1} s{(times[^1].Ok ? "" : " FAILED")}"));
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(RunCache.FolderVariable, cacheBefore);
            Directory.Delete(outDir, recursive: true);
        }
        return times;
    }
}

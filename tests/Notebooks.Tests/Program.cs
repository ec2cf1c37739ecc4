using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>
/// The child-process entry point: <c>dotnet Notebooks.Tests.dll run-notebook NOTEBOOK [--executed PATH] [--quick]</c>.
/// The test runner never calls this; the harness starts it once per notebook so that each runs in a fresh process.
/// Exit code 0 when every cell succeeded, 1 when one failed, 2 on bad arguments.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // The kernel redirects Console.Out and Console.Error while a cell runs, so report through our own handle.
        var log = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
        if (args.Length < 2 || args[0] != "run-notebook")
        {
            log.WriteLine("usage: Notebooks.Tests run-notebook NOTEBOOK [--executed PATH] [--quick]");
            return 2;
        }
        int at = Array.IndexOf(args, "--executed");
        var options = new NotebookRunOptions
        {
            Quick = args.Contains("--quick"),
            ExecutedPath = at > 0 && at + 1 < args.Length ? args[at + 1] : null,
            Progress = c => log.WriteLine($"  cell {c.CellNumber,3} {(c.Succeeded ? "ok    " : "FAILED")} {c.Elapsed.TotalSeconds,6:F1} s  [{string.Join(", ", c.Outputs)}]"),
        };
        int code;
        try
        {
            var result = await NotebookRunner.RunAsync(args[1], options);
            log.WriteLine($"{Path.GetFileName(result.NotebookPath)}: {result.Cells.Count} code cell(s) in {result.Elapsed.TotalSeconds:F1} s");
            if (result.FailureMessage is { } failure) log.WriteLine("FAILURE " + failure);
            code = result.Succeeded ? 0 : 1;
        }
        catch (Exception e)
        {
            log.WriteLine($"FAILURE {args[1]}: {e}");
            code = 1;
        }
        // The kernel and NuGet leave background threads; do not wait for them.
        Environment.Exit(code);
        return code;
    }
}

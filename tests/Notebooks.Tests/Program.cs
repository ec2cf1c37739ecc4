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
        };
        int code = await NotebookProcessEntry.RunAsync(args[1], options, log);
        // The kernel and NuGet leave background threads; do not wait for them.
        Environment.Exit(code);
        return code;
    }
}

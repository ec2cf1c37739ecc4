using KnowledgeDistillation.Notebooks;

// The process that runs one notebook: dotnet KnowledgeDistillation.Notebooks.dll NOTEBOOK [--executed PATH] [--quick]
// [--cell-timeout MINUTES] [--backend cpu|cuda]. `kd notebooks run` starts it once per notebook, so that each notebook gets a fresh kernel in
// a process that has not loaded the library or TorchSharp (the notebook loads them with #r, as in VS Code).
// Progress per cell goes to standard error; a failure is the line "FAILURE notebook: cell N (code cell M) failed: ...".
// Exit code 0 when every cell succeeded, 1 when one failed, 2 on bad arguments.

// The kernel redirects Console.Out and Console.Error while a cell runs, so report through our own handle.
var log = new StreamWriter(Console.OpenStandardError()) { AutoFlush = true };
int at = Array.IndexOf(args, "--executed"), timeoutAt = Array.IndexOf(args, "--cell-timeout"), backendAt = Array.IndexOf(args, "--backend");
var backend = TorchBackend.Cpu;
if (args.Length < 1 || args[0].StartsWith('-') || (at > 0 && at + 1 >= args.Length) ||
    (timeoutAt > 0 && (timeoutAt + 1 >= args.Length || !int.TryParse(args[timeoutAt + 1], out _))) ||
    (backendAt > 0 && (backendAt + 1 >= args.Length || !NotebookBackend.TryParse(args[backendAt + 1], out backend))))
{
    log.WriteLine("usage: KnowledgeDistillation.Notebooks NOTEBOOK [--executed PATH] [--quick] [--cell-timeout MINUTES] [--backend cpu|cuda]");
    return 2;
}
var options = new NotebookRunOptions
{
    Quick = args.Contains("--quick"),
    ExecutedPath = at > 0 ? args[at + 1] : null,
    CellTimeout = TimeSpan.FromMinutes(timeoutAt > 0 ? int.Parse(args[timeoutAt + 1]) : 60),
    Backend = backend,
};
int code = await NotebookProcessEntry.RunAsync(args[0], options, log);
// The kernel and NuGet leave background threads; do not wait for them.
Environment.Exit(code);
return code;

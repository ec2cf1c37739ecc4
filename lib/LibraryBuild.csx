// Loaded by the first code cell of every notebook (#load "../lib/LibraryBuild.csx"), before the next cell #r's the
// library's Release build: the tutorial assembly (KnowledgeDistillation.Tutorial.dll) from
// lib/KnowledgeDistillation.Tutorial/bin/Release/net10.0/, where the kernel also finds the core (KnowledgeDistillation.dll).
// When that build is missing or older than the sources of either project, it builds it (dotnet build
// lib/KnowledgeDistillation.Tutorial -c Release, which builds the core too), so that "Run All" works on a fresh clone. When it cannot, it stops the notebook with one sentence that
// says what to run. Everything is inside one block, so the notebook gets no new names.
{
    const string BuildCommand = "dotnet build lib/KnowledgeDistillation.Tutorial -c Release";
    const string Dll = "lib/KnowledgeDistillation.Tutorial/bin/Release/net10.0/KnowledgeDistillation.Tutorial.dll";

    // The kernel runs in the notebook's folder; the repository is the folder above it that holds Notebooks.sln.
    string start = System.IO.Directory.GetCurrentDirectory();
    string root = null;
    for (var dir = new System.IO.DirectoryInfo(start); dir != null && root == null; dir = dir.Parent)
        if (System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "Notebooks.sln"))) root = dir.FullName;
    if (root == null)
        throw new System.InvalidOperationException(
            $"Open the notebook from its folder in a clone of the repository: no Notebooks.sln was found above {start}.");

    string dll = System.IO.Path.Combine(root, Dll);
    string bin = System.IO.Path.GetDirectoryName(dll);
    bool Built(string path) => path.Contains("/bin/") || path.Contains("/obj/") || path.Contains("\\bin\\") || path.Contains("\\obj\\");
    // Each project's sources against its own DLL in the tutorial's output folder: a change inside the core need not
    // recompile the tutorial assembly, so its DLL may rightly be older than the core's sources.
    string reason = null;
    foreach (var project in new[] { "KnowledgeDistillation", "KnowledgeDistillation.Tutorial" })
    {
        string library = System.IO.Path.Combine(root, "lib", project);
        string built = System.IO.Path.Combine(bin, project + ".dll");
        if (!System.IO.File.Exists(built)) { reason = "is not built yet"; break; }
        var sources = System.Linq.Enumerable.ToList(System.Linq.Enumerable.Where(
            System.IO.Directory.EnumerateFiles(library, "*", System.IO.SearchOption.AllDirectories),
            f => (f.EndsWith(".cs") || f.EndsWith(".csproj")) && !Built(f.Substring(library.Length))));
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props" })
            if (System.IO.File.Exists(System.IO.Path.Combine(root, file))) sources.Add(System.IO.Path.Combine(root, file));
        string newest = System.Linq.Enumerable.FirstOrDefault(
            System.Linq.Enumerable.OrderByDescending(sources, System.IO.File.GetLastWriteTimeUtc));
        if (newest != null && System.IO.File.GetLastWriteTimeUtc(newest) > System.IO.File.GetLastWriteTimeUtc(built))
        {
            reason = $"is older than {System.IO.Path.GetRelativePath(root, newest)}";
            break;
        }
    }

    if (reason != null)
    {
        bool loaded = System.Linq.Enumerable.Any(System.AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name is "KnowledgeDistillation" or "KnowledgeDistillation.Tutorial");
        if (loaded)
            throw new System.InvalidOperationException(
                $"The library's build {reason}, and this kernel has already loaded the old one: restart the kernel and run the notebook again (this cell then rebuilds it).");

        System.Console.WriteLine($"The library's build ({Dll}) {reason}: running `{BuildCommand}` (about a minute the first time) ...");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string host = System.Environment.ProcessPath is { } path && System.IO.Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var info = new System.Diagnostics.ProcessStartInfo(host)
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "build", "lib/KnowledgeDistillation.Tutorial", "-c", "Release", "-nologo", "-v:q" }) info.ArgumentList.Add(arg);
        var output = new System.Text.StringBuilder();
        int exitCode;
        try
        {
            using var process = System.Diagnostics.Process.Start(info);
            var error = process.StandardError.ReadToEndAsync();
            output.Append(process.StandardOutput.ReadToEnd());
            output.Append(error.Result);
            process.WaitForExit();
            exitCode = process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new System.InvalidOperationException(
                $"The library's build {reason}, and `dotnet` could not be started to build it ({e.Message}): run `{BuildCommand}` in {root}, then run this cell again.");
        }
        if (exitCode != 0 || !System.IO.File.Exists(dll))
        {
            var lines = output.ToString().Split('\n');
            string tail = string.Join("\n", lines, System.Math.Max(0, lines.Length - 15), System.Math.Min(lines.Length, 15)).Trim();
            throw new System.InvalidOperationException(
                $"The library's build {reason}, and building it failed (exit code {exitCode}): run `{BuildCommand}` in {root} to see why, fix it, then run this cell again.\n{tail}");
        }
        System.Console.WriteLine($"Built in {clock.Elapsed.TotalSeconds:F0} s.");
    }
}

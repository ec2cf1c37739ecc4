using System.Diagnostics;
using System.Text.Json.Nodes;

namespace KnowledgeDistillation.Notebooks;

/// <summary>
/// The <c>dotnet-interactive</c> tool that VS Code's Polyglot Notebooks (and Jupyter's .NET kernel) start, pinned in the
/// repository's local tool manifest <c>.config/dotnet-tools.json</c> and restored by <c>dotnet tool restore</c>.
/// </summary>
/// <remarks>
/// VS Code starts <c>dotnet tool run dotnet-interactive -- [vscode] stdio --working-dir {the notebook's folder}</c> from
/// the folder of its own tool manifest. <see cref="StartInfo"/> builds the same command, from the folder of this
/// repository's manifest, so the harness, <c>kd notebooks run</c> and the benchmarks run the kernel users run.
/// </remarks>
public static class InteractiveTool
{
    /// <summary>The tool's package on NuGet.</summary>
    public const string PackageId = "microsoft.dotnet-interactive";

    /// <summary>The command the package installs.</summary>
    public const string CommandName = "dotnet-interactive";

    /// <summary>The folder that holds <c>.config/dotnet-tools.json</c>, searched upwards from <paramref name="start"/>;
    /// null when there is none.</summary>
    public static string? FindManifestRoot(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
            if (File.Exists(ManifestPath(dir.FullName))) return dir.FullName;
        return null;
    }

    /// <summary>The manifest's path under <paramref name="root"/>.</summary>
    public static string ManifestPath(string root) => Path.Combine(root, ".config", "dotnet-tools.json");

    /// <summary>The tool version the manifest under <paramref name="root"/> pins.</summary>
    /// <exception cref="InvalidDataException">The manifest does not pin the tool.</exception>
    public static string PinnedVersion(string root)
    {
        string path = ManifestPath(root);
        var tools = JsonNode.Parse(File.ReadAllText(path))?["tools"]?.AsObject();
        var entry = tools?.FirstOrDefault(t => string.Equals(t.Key, PackageId, StringComparison.OrdinalIgnoreCase)).Value;
        return entry?["version"]?.GetValue<string>()
               ?? throw new InvalidDataException($"{path} does not pin {PackageId}.");
    }

    /// <summary>
    /// The process VS Code starts for a notebook in <paramref name="notebookFolder"/>: the pinned tool in stdio mode,
    /// as VS Code's client (<c>[vscode]</c>), C# by default, changing to the notebook's folder.
    /// </summary>
    /// <param name="manifestRoot">The folder of the tool manifest; <c>dotnet tool run</c> runs there.</param>
    /// <param name="notebookFolder">The kernel's working directory.</param>
    public static ProcessStartInfo StartInfo(string manifestRoot, string notebookFolder)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = manifestRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new System.Text.UTF8Encoding(false),
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var arg in new[] { "tool", "run", CommandName, "--", "[vscode]", "stdio", "--default-kernel", "csharp", "--working-dir", notebookFolder })
            start.ArgumentList.Add(arg);
        // Variables that `dotnet test` and `dotnet run` set for their own child processes must not leak into the kernel.
        foreach (var name in new[] { "DOTNET_HOST_PATH", "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "VSTEST_HOST_DEBUG" })
            start.Environment.Remove(name);
        return start;
    }

    /// <summary>What to tell a user whose tool did not start.</summary>
    public static string RestoreHint(string manifestRoot) =>
        $"Run `dotnet tool restore` in {manifestRoot} (it installs the {CommandName} version that .config/dotnet-tools.json pins), then try again.";

    static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}

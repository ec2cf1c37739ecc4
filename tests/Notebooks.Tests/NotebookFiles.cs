namespace Notebooks.Tests;

/// <summary>Where the repository, its notebooks and the harness's outputs are.</summary>
static class NotebookFiles
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Directory => Path.Combine(RepoRoot, "notebooks");

    /// <summary>Executed copies, with outputs, land here (git-ignored).</summary>
    public static string ExecutedDirectory => Path.Combine(RepoRoot, "artifacts", "notebooks");

    public static string FixturesDirectory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>Every notebooks/NN-topic.ipynb, in order.</summary>
    public static IReadOnlyList<string> All() =>
        System.IO.Directory.GetFiles(Directory, "*.ipynb").Order(StringComparer.Ordinal).ToList();

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Notebooks.sln"))) return dir.FullName;
        throw new InvalidOperationException("Notebooks.sln not found above " + AppContext.BaseDirectory);
    }
}

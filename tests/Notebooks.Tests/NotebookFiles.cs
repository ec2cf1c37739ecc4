using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>Where the repository, its notebooks and the harness's outputs are.</summary>
static class NotebookFiles
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>notebooks/, the English notebooks; each translation is a subfolder of it (notebooks/zh-TW/).</summary>
    public static string Directory => Path.Combine(RepoRoot, "notebooks");

    /// <summary>Executed copies, with outputs, land here (git-ignored); a translation's in a subfolder.</summary>
    public static string ExecutedDirectory => Path.Combine(RepoRoot, "artifacts", "notebooks");

    public static string FixturesDirectory => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>Every notebooks/NN-topic.ipynb, in order.</summary>
    public static IReadOnlyList<string> All() => All(NotebookEditions.English);

    /// <summary>Every notebook of <paramref name="edition"/> (notebooks/zh-TW/NN-topic.ipynb), in order.</summary>
    public static IReadOnlyList<string> All(NotebookEdition edition) => edition.Notebooks(RepoRoot);

    /// <summary>Every notebook of every edition, relative to notebooks/ with forward slashes (<c>00-setup.ipynb</c>,
    /// <c>zh-TW/00-setup.ipynb</c>), for theories whose cases read well in the test list.</summary>
    public static TheoryData<string> EveryEdition() =>
        [.. NotebookEditions.All.SelectMany(All).Select(p => Path.GetRelativePath(Directory, p).Replace('\\', '/'))];

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Notebooks.sln"))) return dir.FullName;
        throw new InvalidOperationException("Notebooks.sln not found above " + AppContext.BaseDirectory);
    }
}

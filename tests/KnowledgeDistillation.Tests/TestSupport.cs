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

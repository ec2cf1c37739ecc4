namespace KnowledgeDistillation.Runtime;

/// <summary>Finds this repository's folders without machine-specific paths.</summary>
public static class RepoPaths
{
    /// <summary>
    /// The repository root: the nearest folder, from the current directory upwards and then from this library's own
    /// location upwards, that holds <c>Notebooks.sln</c>. Null when neither is inside the repository.
    /// </summary>
    public static string? Root =>
        FindUpwards(Directory.GetCurrentDirectory()) ??
        FindUpwards(AppContext.BaseDirectory) ??
        FindUpwards(Path.GetDirectoryName(typeof(RepoPaths).Assembly.Location));

    static string? FindUpwards(string? start)
    {
        for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Notebooks.sln")))
                return dir.FullName;
        }
        return null;
    }
}

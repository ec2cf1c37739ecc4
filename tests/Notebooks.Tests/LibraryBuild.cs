namespace Notebooks.Tests;

/// <summary>The notebooks #r the library's Release build (the core and the tutorial assembly, both from the tutorial
/// project's output folder); fail clearly when either DLL is missing or older than its project's sources.</summary>
static class LibraryBuild
{
    /// <summary>The tutorial assembly that the notebooks #r, from the repository root; a notebook's path to it starts
    /// with its edition's way up (<c>../</c>, <c>../../</c> for notebooks/zh-TW/).</summary>
    public const string TutorialFromRoot = "lib/KnowledgeDistillation.Tutorial/bin/Release/net10.0/KnowledgeDistillation.Tutorial.dll";
    public const string CoreRelativeToNotebooks = "../lib/KnowledgeDistillation.Tutorial/bin/Release/net10.0/KnowledgeDistillation.dll";
    public const string RelativeToNotebooks = "../" + TutorialFromRoot;

    public static void EnsureCurrent()
    {
        const string fix = "Build it with: dotnet build lib/KnowledgeDistillation.Tutorial -c Release (dotnet test Notebooks.sln -c Release does this).";
        foreach (var (project, relative) in new[] { ("KnowledgeDistillation", CoreRelativeToNotebooks), ("KnowledgeDistillation.Tutorial", RelativeToNotebooks) })
        {
            var dll = Path.GetFullPath(Path.Combine(NotebookFiles.Directory, relative));
            Assert.True(File.Exists(dll), $"The notebooks load {dll}, which does not exist. {fix}");
            var sources = Directory.GetFiles(Path.Combine(NotebookFiles.RepoRoot, "lib", project), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));
            var newest = sources.Max(File.GetLastWriteTimeUtc);
            Assert.True(File.GetLastWriteTimeUtc(dll) >= newest, $"{dll} is older than the sources of lib/{project}. {fix}");
        }
    }
}

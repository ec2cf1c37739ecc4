using System.Xml.Linq;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// The library's shape: the core (lib/KnowledgeDistillation) depends on TorchSharp alone; the tutorial assembly
/// (lib/KnowledgeDistillation.Tutorial) depends on the core and never the reverse; and no folder of either uses a
/// folder that uses it back, directly or through others.
/// </summary>
public class ArchitectureTests
{
    static string Project(string name) => Path.Combine(Repo.Root, "lib", name);

    [Theory]
    [InlineData("KnowledgeDistillation")]
    [InlineData("KnowledgeDistillation.Tutorial")]
    public void No_folder_of_the_library_depends_on_itself_through_others(string project)
    {
        var dependencies = SourceDependencies.Of(Project(project));
        Assert.True(dependencies.Edges.Values.Sum(e => e.Count) > 3, $"The analysis found almost no dependencies in {project}:\n{dependencies}");
        Assert.True(dependencies.Cycles().Count == 0,
            $"Dependency cycles between the folders of lib/{project}:\n{string.Join("\n", dependencies.Cycles())}\n\nAll dependencies:\n{dependencies}");
    }

    [Fact]
    public void The_cycle_check_finds_a_cycle()
    {
        // Two folders that use each other, and a third on a longer loop: the analysis must name both loops.
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("A"));
        Directory.CreateDirectory(dir.File("B"));
        Directory.CreateDirectory(dir.File("C"));
        File.WriteAllText(dir.File("A/Alpha.cs"), "namespace N.A; public static class Alpha { public static int X => N.B.Beta.Y; }");
        File.WriteAllText(dir.File("B/Beta.cs"), "namespace N.B; public static class Beta { public static int Y => N.C.Gamma.Z; public static int W => N.A.Alpha.X; }");
        File.WriteAllText(dir.File("C/Gamma.cs"), "namespace N.C; public static class Gamma { public static int Z => 1; public static N.A.Alpha? Back; }");
        var cycles = SourceDependencies.Of(dir.Path).Cycles();
        Assert.Equal(2, cycles.Count);
        Assert.Contains(cycles, c => c.StartsWith("A → B → A", StringComparison.Ordinal) && c.Contains("Beta.cs uses Alpha", StringComparison.Ordinal));
        Assert.Contains(cycles, c => c.StartsWith("A → B → C → A", StringComparison.Ordinal));
    }

    [Fact]
    public void The_core_references_TorchSharp_and_no_other_package_or_project()
    {
        var project = XDocument.Load(Path.Combine(Project("KnowledgeDistillation"), "KnowledgeDistillation.csproj"));
        var packages = project.Descendants("PackageReference").Select(p => (string?)p.Attribute("Include")).ToList();
        Assert.Equal(["TorchSharp"], packages);
        Assert.Empty(project.Descendants("ProjectReference"));
        // And the built assembly agrees: it references no Plotly.NET, FSharp.Core or Microsoft.Data.Analysis.
        var references = typeof(Training.Trainer).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.Contains("TorchSharp", references);
        Assert.DoesNotContain(references, r => r is not null && (r.StartsWith("Plotly", StringComparison.Ordinal) ||
            r == "FSharp.Core" || r.StartsWith("Microsoft.Data.Analysis", StringComparison.Ordinal) || r.StartsWith("KnowledgeDistillation", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_tutorial_assembly_depends_on_the_core_and_nothing_depends_on_the_tutorial_from_the_core()
    {
        var tutorial = XDocument.Load(Path.Combine(Project("KnowledgeDistillation.Tutorial"), "KnowledgeDistillation.Tutorial.csproj"));
        Assert.Equal(["../KnowledgeDistillation/KnowledgeDistillation.csproj"],
            tutorial.Descendants("ProjectReference").Select(p => (string?)p.Attribute("Include")).ToList());
        var core = typeof(Training.Trainer).Assembly;
        Assert.DoesNotContain(core.GetReferencedAssemblies(), a => a.Name == "KnowledgeDistillation.Tutorial");
        Assert.Equal("KnowledgeDistillation.Tutorial", typeof(Experiments.Reproduction).Assembly.GetName().Name);
    }
}

using System.IO.Compression;
using System.Xml.Linq;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// The core library as a NuGet package, as someone outside this repository takes it: <c>dotnet pack</c> it, check what
/// the package declares, then build and run a console app that references it from a local folder feed (plus
/// TorchSharp-cpu for the native libtorch) and distils a student from a teacher on its own tensors.
/// </summary>
public class PackageTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void The_core_packs_with_TorchSharp_as_its_only_dependency_and_a_console_app_distils_with_the_package()
    {
        using var dir = new TempDirectory();
        string feed = dir.File("feed");
        // A version of its own, so that the NuGet cache never hands the app an older build of the same version.
        string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        // Packed from a copy of the core's sources and the repository's two props files, as on a fresh clone, so that
        // the repository's own build outputs (which the notebooks load) stay as they are.
        string source = dir.File("source");
        foreach (var props in new[] { "Directory.Build.props", "Directory.Packages.props" })
        {
            Directory.CreateDirectory(source);
            File.Copy(Path.Combine(Repo.Root, props), Path.Combine(source, props));
        }
        string core = Path.Combine(Repo.Root, "lib", "KnowledgeDistillation");
        foreach (var file in Directory.EnumerateFiles(core, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(core, file);
            if (relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal) || relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                continue;
            string target = Path.Combine(source, "lib", "KnowledgeDistillation", relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        Run(source, TimeSpan.FromMinutes(5), "pack", "lib/KnowledgeDistillation", "-c", "Release", "-o", feed, $"-p:Version={version}", "-nologo");

        string nupkg = Path.Combine(feed, $"KnowledgeDistillation.{version}.nupkg");
        Assert.True(File.Exists(nupkg), $"dotnet pack made no {nupkg}; the feed holds: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
        using (var package = ZipFile.OpenRead(nupkg))
        {
            var entries = package.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("lib/net10.0/KnowledgeDistillation.dll", entries);
            Assert.Contains("lib/net10.0/KnowledgeDistillation.xml", entries); // the XML docs, for IntelliSense
            Assert.Contains("README.md", entries);
            Assert.DoesNotContain(entries, e => e.Contains("Tutorial", StringComparison.Ordinal) || e.Contains("Plotly", StringComparison.Ordinal));

            using var nuspecStream = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
            var nuspec = XDocument.Load(nuspecStream);
            XNamespace ns = nuspec.Root!.GetDefaultNamespace();
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            var dependencies = metadata.Descendants(ns + "dependency").Select(d => (string?)d.Attribute("id")).Distinct().ToList();
            Assert.Equal(["TorchSharp"], dependencies);
            Assert.Equal("MIT", (string?)metadata.Element(ns + "license"));
            Assert.Equal("expression", (string?)metadata.Element(ns + "license")!.Attribute("type"));
            Assert.Equal("README.md", (string?)metadata.Element(ns + "readme"));
            Assert.False(string.IsNullOrWhiteSpace((string?)metadata.Element(ns + "description")));
            Assert.Contains("knowledge-distillation", (string?)metadata.Element(ns + "tags"));
        }

        // The app lives outside the repository, so none of its build settings apply.
        string app = dir.File("app");
        Directory.CreateDirectory(app);
        string torchSharpVersion = XDocument.Load(Path.Combine(Repo.Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(p => (string?)p.Attribute("Include") == "TorchSharp-cpu").Attribute("Version")!.Value;
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "Directory.Packages.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="KnowledgeDistillation" Version="{version}" />
                <PackageReference Include="TorchSharp-cpu" Version="{torchSharpVersion}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using KnowledgeDistillation.Data;
            using KnowledgeDistillation.Losses;
            using KnowledgeDistillation.Models;
            using KnowledgeDistillation.Training;
            using TorchSharp;
            using static TorchSharp.torch;

            // Ten noisy 28×28 class templates: a teacher learns them, then a tiny student learns from the teacher.
            manual_seed(1);
            var templates = randn(10, 1, 28, 28);
            LabelledImages Make(int n, Split split)
            {
                var labels = arange(n, dtype: ScalarType.Int64).remainder(10);
                return new LabelledImages(templates.index_select(0, labels).add(randn(n, 1, 28, 28).mul(0.8)), labels, split);
            }
            using var train = Make(600, Split.Train);
            using var test = Make(200, Split.Test);
            var options = new TrainingOptions { Epochs = 3, BatchSize = 50, LearningRate = 3e-3, Device = "cpu" };

            var teacher = new Mlp(784, [64], 10);
            var taught = Trainer.Train(teacher, train, test, options);
            var student = Mlp.TinyStudent();
            using var objective = new DistillationObjective(DistillationTerms.CrossEntropy(0.1), DistillationTerms.Soft(T: 4, weight: 0.9));
            var distilled = Trainer.Distill(student, teacher, objective, train, test, options);
            Console.WriteLine($"teacher {taught.Final.Accuracy:F4} student {distilled.Final.Accuracy:F4} epochs {distilled.History.Count}");
            """);
        var (_, text) = Run(app, TimeSpan.FromMinutes(8), "run", "-c", "Release", "-nologo");
        var line = text.Split('\n').Single(l => l.StartsWith("teacher ", StringComparison.Ordinal)).Trim();
        var words = line.Split(' ');
        double teacherAccuracy = double.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture);
        double studentAccuracy = double.Parse(words[3], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("3", words[5]);
        Assert.True(teacherAccuracy > 0.9, line);
        Assert.True(studentAccuracy > 0.5, line);
    }

    (int ExitCode, string Output) Run(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        // The test host's MSBuild settings must not leak into the child builds.
        var (code, stdout, stderr) = DotnetProcess.Run(workingDirectory, timeout, args, start =>
        {
            foreach (var name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "DOTNET_HOST_PATH" }) start.Environment.Remove(name);
        });
        string text = stdout + stderr;
        output.WriteLine($"$ dotnet {string.Join(' ', args)}\n{text}");
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)} failed with exit code {code}:\n{text}");
        return (code, text);
    }
}

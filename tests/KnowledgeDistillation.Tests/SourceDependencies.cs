using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// Which folder of a project uses which other folder, read from the source with Roslyn's semantic model: an edge
/// A → B means a file in folder A names (in a type, a call, a base list, an attribute...) a type declared in folder B
/// of the same project. Files at the project's root count as folder "(root)".
/// </summary>
sealed class SourceDependencies
{
    SourceDependencies(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> edges) => Edges = edges;

    /// <summary>from folder → (to folder → one example "File.cs uses Type").</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Edges { get; }

    public static SourceDependencies Of(string projectDirectory)
    {
        var files = Directory.EnumerateFiles(projectDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(projectDirectory, f)))
            .Order(StringComparer.Ordinal)
            .ToList();
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, f)).ToList();
        var compilation = CSharpCompilation.Create("Analysed", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var folderOf = files.ToDictionary(f => f, f => FolderOf(projectDirectory, f));

        var edges = new Dictionary<string, Dictionary<string, string>>();
        foreach (var tree in trees)
        {
            var from = folderOf[tree.FilePath];
            var model = compilation.GetSemanticModel(tree);
            foreach (var node in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var symbol = model.GetSymbolInfo(node).Symbol ?? model.GetSymbolInfo(node).CandidateSymbols.FirstOrDefault();
                var type = symbol switch
                {
                    INamedTypeSymbol t => t,
                    IMethodSymbol { MethodKind: MethodKind.Constructor } m => m.ContainingType,
                    ISymbol s => s.ContainingType,
                    _ => null,
                };
                for (var t = type?.OriginalDefinition; t is not null; t = t.ContainingType)
                {
                    var declared = t.Locations.FirstOrDefault(l => l.IsInSource)?.SourceTree?.FilePath;
                    if (declared is null || !folderOf.TryGetValue(declared, out var to) || to == from) continue;
                    if (!edges.TryGetValue(from, out var targets)) edges[from] = targets = new Dictionary<string, string>();
                    targets.TryAdd(to, $"{Path.GetFileName(tree.FilePath)} uses {t.Name}");
                }
            }
        }
        return new SourceDependencies(edges.ToDictionary(e => e.Key, e => (IReadOnlyDictionary<string, string>)e.Value));
    }

    /// <summary>Every cycle's folders, each cycle once (as found by a depth-first search), with the example uses.</summary>
    public IReadOnlyList<string> Cycles()
    {
        var cycles = new List<string>();
        var state = new Dictionary<string, int>(); // 1 on the stack, 2 done
        var stack = new List<string>();
        void Visit(string node)
        {
            state[node] = 1;
            stack.Add(node);
            foreach (var next in Edges.GetValueOrDefault(node)?.Keys.Order(StringComparer.Ordinal) ?? Enumerable.Empty<string>())
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    var loop = stack.Skip(stack.IndexOf(next)).Append(next).ToList();
                    cycles.Add(string.Join(" → ", loop) + " (" +
                        string.Join("; ", loop.Zip(loop.Skip(1), (a, b) => Edges[a][b])) + ")");
                }
                else if (state.GetValueOrDefault(next) == 0)
                    Visit(next);
            }
            stack.RemoveAt(stack.Count - 1);
            state[node] = 2;
        }
        foreach (var node in Edges.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(node) == 0) Visit(node);
        return cycles;
    }

    public override string ToString() => string.Join(Environment.NewLine, Edges.OrderBy(e => e.Key, StringComparer.Ordinal)
        .SelectMany(e => e.Value.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{e.Key} → {t.Key}  ({t.Value})")));

    static bool IsBuildOutput(string relative)
    {
        var first = relative.Split(Path.DirectorySeparatorChar)[0];
        return first is "bin" or "obj";
    }

    static string FolderOf(string projectDirectory, string file)
    {
        var parts = Path.GetRelativePath(projectDirectory, file).Split(Path.DirectorySeparatorChar);
        return parts.Length == 1 ? "(root)" : parts[0];
    }

    /// <summary>The assemblies this test process runs with (the framework, TorchSharp, Plotly.NET, ...), enough to bind the
    /// library's names.</summary>
    static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => !Path.GetFileNameWithoutExtension(p).StartsWith("KnowledgeDistillation", StringComparison.Ordinal))
            .DistinctBy(Path.GetFileName)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray());
}

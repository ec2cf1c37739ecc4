using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace KnowledgeDistillation.Notebooks;

/// <summary>Where an exported app finds the library, relative to the app's own folder.</summary>
/// <param name="LibraryProject">The library's .csproj, relative to the folder the .cs file is written to
/// (<c>#:project</c> paths are relative to the file).</param>
/// <param name="SourceName">The notebook's path as shown in the header comment, e.g. <c>notebooks/00-setup.ipynb</c>.</param>
/// <param name="NotebookFolder">The notebook's folder, relative to the app's folder: the app runs there, as the notebook did.</param>
public sealed record NotebookExportOptions(string LibraryProject, string SourceName, string NotebookFolder);

/// <summary>
/// Turns a notebook into a .NET 10 file-based app (<c>dotnet run NN-topic.cs</c>):
/// <list type="bullet">
/// <item><c>#r "nuget: X, V"</c> becomes <c>#:package X@V</c> (kernel extensions such as Plotly.NET.Interactive are
/// dropped: the app renders charts itself), and the <c>#r</c> of the library's DLL becomes <c>#:project</c>;</item>
/// <item>markdown cells become <c>//</c> comments, in place;</item>
/// <item><c>using</c> directives move to the top and type declarations to the end, where C# wants them;</item>
/// <item>a cell's trailing expression, which the notebook displays as the cell's result, becomes
/// <c>display(expression);</c>, and <c>display</c> comes from <c>KnowledgeDistillation.Apps.AppDisplay</c>, which prints
/// text and writes charts and tables as HTML files.</item>
/// </list>
/// </summary>
public static partial class NotebookExport
{
    /// <summary>Packages that only extend the notebook kernel; an app does not need them.</summary>
    public static readonly IReadOnlySet<string> KernelOnlyPackages = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Plotly.NET.Interactive" };

    /// <summary>The library DLL that notebooks <c>#r</c>; it becomes <c>#:project</c>.</summary>
    public const string LibraryDll = "KnowledgeDistillation.dll";

    static readonly CSharpParseOptions ScriptOptions = CSharpParseOptions.Default.WithKind(SourceCodeKind.Script).WithLanguageVersion(LanguageVersion.Preview);

    /// <summary>The app's source for the notebook <paramref name="notebookJson"/>.</summary>
    /// <exception cref="InvalidDataException">A cell cannot be exported (a <c>#r</c> of an unknown DLL, a magic command).</exception>
    public static string ToFileBasedApp(string notebookJson, NotebookExportOptions options)
    {
        var notebook = JsonNode.Parse(notebookJson)?.AsObject() ?? throw new InvalidDataException("The notebook is not a JSON object.");
        var packages = new List<(string Name, string Version)>();
        var usings = new List<string>();
        var body = new StringBuilder();
        var types = new StringBuilder();
        bool library = false;
        int cellNumber = 0;

        foreach (var cell in notebook["cells"]?.AsArray() ?? [])
        {
            cellNumber++;
            if (cell is null) continue;
            string source = Text(cell["source"]).Replace("\r\n", "\n");
            string type = cell["cell_type"]?.GetValue<string>() ?? "";
            if (type == "markdown")
            {
                body.AppendLine();
                foreach (var line in source.TrimEnd().Split('\n')) body.AppendLine(line.Length == 0 ? "//" : "// " + line);
                continue;
            }
            if (type != "code" || string.IsNullOrWhiteSpace(source)) continue;

            var code = new StringBuilder();
            foreach (var line in source.Split('\n'))
            {
                var trimmed = line.Trim();
                if (NugetReference().Match(trimmed) is { Success: true } nuget)
                {
                    var package = (nuget.Groups[1].Value.Trim(), nuget.Groups[2].Value.Trim());
                    if (!KernelOnlyPackages.Contains(package.Item1) && !packages.Contains(package)) packages.Add(package);
                    code.AppendLine();
                }
                else if (FileReference().Match(trimmed) is { Success: true } file)
                {
                    if (!file.Groups[1].Value.EndsWith("/" + LibraryDll, StringComparison.Ordinal) && file.Groups[1].Value != LibraryDll)
                        throw new InvalidDataException($"cell {cellNumber}: '{trimmed}' references a DLL other than the library; an app cannot export it.");
                    library = true;
                    code.AppendLine();
                }
                else if (trimmed.StartsWith("#!", StringComparison.Ordinal))
                    throw new InvalidDataException($"cell {cellNumber}: the magic command '{trimmed}' has no equivalent in an app.");
                else
                    code.AppendLine(line);
            }

            body.AppendLine().AppendLine($"// ---- cell {cellNumber} ----");
            body.Append(Convert(code.ToString(), usings, types).Trim('\n')).AppendLine();
        }

        var app = new StringBuilder();
        string name = Path.GetFileNameWithoutExtension(options.SourceName);
        app.AppendLine($"// {name}.cs: generated by `kd notebooks export` from {options.SourceName}. Do not edit: export again.");
        app.AppendLine($"// Run it from anywhere in the repository: dotnet run {name}.cs   (KD_QUICK=1 for quick mode)");
        app.AppendLine($"// display(...) prints text and writes charts and tables as HTML to {name}.output/ next to this file.");
        foreach (var (packageName, version) in packages) app.AppendLine($"#:package {packageName}@{version}");
        if (library) app.AppendLine($"#:project {options.LibraryProject.Replace('\\', '/')}");
        // The versions are the notebook's own (a test keeps them equal to Directory.Packages.props), so central
        // package management, which this repository's Directory.Packages.props turns on, is off for the app.
        app.AppendLine("#:property ManagePackageVersionsCentrally=false");
        // libtorch ships natives for every OS; restrict the build to this machine's, as build/TorchRuntime.props does.
        app.AppendLine("#:property RuntimeIdentifier=$(NETCoreSdkRuntimeIdentifier)");
        app.AppendLine("#:property SelfContained=false");
        // Notebook code compiles without nullable annotations, as in the notebook kernel.
        app.AppendLine("#:property Nullable=disable");
        app.AppendLine();
        foreach (var u in usings.Prepend("using static KnowledgeDistillation.Apps.AppDisplay;")) app.AppendLine(u);
        app.AppendLine().AppendLine("// The notebook ran in its own folder; so does the app.");
        app.AppendLine($"UseNotebookFolder(\"{options.NotebookFolder.Replace('\\', '/')}\");");
        app.Append(body);
        if (types.Length > 0) app.AppendLine().AppendLine("// ---- types declared in the notebook ----").Append(types);
        return app.ToString();
    }

    /// <summary>One code cell: hoists usings, moves types out, and makes a trailing expression an explicit display.</summary>
    static string Convert(string code, List<string> usings, StringBuilder types)
    {
        var root = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(code, ScriptOptions).GetRoot();
        var edits = new List<(TextSpan Span, string Replacement)>();

        foreach (var u in root.Usings)
        {
            string directive = u.ToString().Trim();
            if (!usings.Contains(directive)) usings.Add(directive);
            edits.Add((u.FullSpan, ""));
        }
        foreach (var member in root.Members)
        {
            if (member is BaseTypeDeclarationSyntax or DelegateDeclarationSyntax)
            {
                types.AppendLine(member.ToFullString().Trim('\n'));
                edits.Add((member.FullSpan, ""));
            }
        }
        if (root.Members.LastOrDefault() is GlobalStatementSyntax { Statement: ExpressionStatementSyntax { SemicolonToken.IsMissing: true } last })
        {
            var expression = last.Expression;
            string replacement = IsConsoleWrite(expression)
                ? expression.ToString() + ";"
                : $"display({expression});";
            edits.Add((expression.Span, replacement));
        }

        var text = new StringBuilder(code);
        foreach (var (span, replacement) in edits.OrderByDescending(e => e.Span.Start))
            text.Remove(span.Start, span.Length).Insert(span.Start, replacement);
        return text.ToString();
    }

    /// <summary>Console.Write(...) returns nothing; the notebook shows nothing for it either.</summary>
    static bool IsConsoleWrite(ExpressionSyntax e) =>
        e is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.Text: "Write" or "WriteLine" } access } &&
        access.Expression.ToString() is "Console" or "System.Console";

    static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>() ?? "")),
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    [GeneratedRegex("""^#r\s+"nuget:\s*([^,"]+),\s*([^"]+)"\s*$""")]
    private static partial Regex NugetReference();

    [GeneratedRegex("""^#r\s+"([^"]+)"\s*$""")]
    private static partial Regex FileReference();
}

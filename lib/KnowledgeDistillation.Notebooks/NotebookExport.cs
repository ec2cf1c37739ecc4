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
/// dropped: the app renders charts itself), the <c>#r</c> of the library's DLL becomes <c>#:project</c>, and the
/// <c>#load</c> of the notebooks' build check (<c>LibraryBuild.csx</c>) is dropped, since <c>#:project</c> builds the
/// library;</item>
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

    /// <summary>The script that notebooks <c>#load</c> to build the library when needed; an app drops it.</summary>
    public const string LibraryBuildScript = "LibraryBuild.csx";

    /// <summary>The library's DLLs that notebooks <c>#r</c> (the core and the tutorial assembly); they become one
    /// <c>#:project</c> of the tutorial project, which brings the core.</summary>
    public static readonly IReadOnlyList<string> LibraryDlls = ["KnowledgeDistillation.dll", "KnowledgeDistillation.Tutorial.dll"];

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
        var parts = new List<(int Cell, string? Comment, CompilationUnitSyntax? Code)>();

        foreach (var cell in notebook["cells"]?.AsArray() ?? [])
        {
            cellNumber++;
            if (cell is null) continue;
            string source = Text(cell["source"]).Replace("\r\n", "\n");
            string type = cell["cell_type"]?.GetValue<string>() ?? "";
            if (type == "markdown")
            {
                var comment = new StringBuilder().AppendLine();
                foreach (var line in source.TrimEnd().Split('\n')) comment.AppendLine(line.Length == 0 ? "//" : "// " + line);
                parts.Add((cellNumber, comment.ToString(), null));
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
                    if (!LibraryDlls.Any(dll => file.Groups[1].Value.EndsWith("/" + dll, StringComparison.Ordinal) || file.Groups[1].Value == dll))
                        throw new InvalidDataException($"cell {cellNumber}: '{trimmed}' references a DLL other than the library; an app cannot export it.");
                    library = true;
                    code.AppendLine();
                }
                else if (LoadDirective().Match(trimmed) is { Success: true } load)
                {
                    // The notebooks' build check; an app builds the library through #:project instead.
                    if (!load.Groups[1].Value.EndsWith(LibraryBuildScript, StringComparison.Ordinal))
                        throw new InvalidDataException($"cell {cellNumber}: '{trimmed}' loads a script other than {LibraryBuildScript}; an app cannot export it.");
                    code.AppendLine();
                }
                else if (trimmed.StartsWith("#!", StringComparison.Ordinal))
                    throw new InvalidDataException($"cell {cellNumber}: the magic command '{trimmed}' has no equivalent in an app.");
                else
                    code.AppendLine(line);
            }

            parts.Add((cellNumber, null, (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(code.ToString(), ScriptOptions).GetRoot()));
        }

        // A notebook's cells are separate submissions; an app's top-level statements share one scope.
        var topLevel = parts.Where(p => p.Code is not null).SelectMany(p => TopLevelNames(p.Code!)).ToHashSet(StringComparer.Ordinal);
        foreach (var (cell, comment, code) in parts)
        {
            if (comment is not null)
            {
                body.Append(comment);
                continue;
            }
            body.AppendLine().AppendLine($"// ---- cell {cell} ----");
            body.Append(Convert(code!, cell, topLevel, usings, types).Trim('\n')).AppendLine();
        }

        var app = new StringBuilder();
        string name = Path.GetFileNameWithoutExtension(options.SourceName);
        app.AppendLine($"// {name}.cs: generated by `kd notebooks export` from {options.SourceName}. Do not edit: export again.");
        app.AppendLine($"// Run it with: dotnet run path/to/{name}.cs   (with KD_QUICK=1 in the environment for quick mode)");
        app.AppendLine($"// display(...) prints text and writes charts and tables as HTML to {name}.output/ next to this file.");
        foreach (var (packageName, version) in packages) app.AppendLine($"#:package {packageName}@{version}");
        if (library) app.AppendLine($"#:project {options.LibraryProject.Replace('\\', '/')}");
        // The versions are the notebook's own (a test keeps them equal to Directory.Packages.props), so central
        // package management, which this repository's Directory.Packages.props turns on, is off for the app.
        app.AppendLine("#:property ManagePackageVersionsCentrally=false");
        // libtorch ships natives for every OS; restrict the build to this machine's, as build/TorchRuntime.props does.
        app.AppendLine("#:property RuntimeIdentifier=$(NETCoreSdkRuntimeIdentifier)");
        app.AppendLine("#:property SelfContained=false");
        // File-based apps default to PublishAot=true, which also turns off reflection-based JSON (the library reads
        // pretrained models' manifests with it) and TorchSharp needs reflection; a notebook runs on the full runtime.
        app.AppendLine("#:property PublishAot=false");
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

    /// <summary>
    /// One code cell: hoists usings, moves types out, makes a trailing expression an explicit display, and renames a
    /// block-scoped local (a loop variable, say) that has the name of a top-level variable of any cell: separate
    /// submissions allow that, one program does not (CS0136).
    /// </summary>
    static string Convert(CompilationUnitSyntax root, int cell, HashSet<string> topLevel, List<string> usings, StringBuilder types)
    {
        string code = root.ToFullString();
        var edits = new List<(TextSpan Span, string Replacement)>();
        var renamed = new HashSet<SyntaxToken>();
        foreach (var (identifier, scope) in NestedDeclarations(root).Where(d => topLevel.Contains(d.Identifier.ValueText)))
        {
            string newName = $"{identifier.ValueText}_{cell}";
            if (renamed.Add(identifier)) edits.Add((identifier.Span, newName));
            foreach (var reference in scope.DescendantNodes().OfType<IdentifierNameSyntax>().Where(n => n.Identifier.ValueText == identifier.ValueText && IsVariableReference(n)))
                if (renamed.Add(reference.Identifier)) edits.Add((reference.Identifier.Span, newName));
        }

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
            // Keep renames inside the expression: apply them to its text first.
            var inner = edits.Where(e => expression.Span.Contains(e.Span)).ToList();
            var expressionText = new StringBuilder(expression.ToString());
            foreach (var (span, renamedText) in inner.OrderByDescending(e => e.Span.Start))
                expressionText.Remove(span.Start - expression.SpanStart, span.Length).Insert(span.Start - expression.SpanStart, renamedText);
            edits.RemoveAll(e => expression.Span.Contains(e.Span));
            string replacement = IsConsoleWrite(expression) ? expressionText + ";" : $"display({expressionText});";
            edits.Add((expression.Span, replacement));
        }

        var text = new StringBuilder(code);
        foreach (var (span, replacement) in edits.OrderByDescending(e => e.Span.Start))
            text.Remove(span.Start, span.Length).Insert(span.Start, replacement);
        return text.ToString();
    }

    /// <summary>Variables a cell declares at its top level (fields, in a script's syntax), and its top-level functions.</summary>
    static IEnumerable<string> TopLevelNames(CompilationUnitSyntax root)
    {
        foreach (var member in root.Members)
        {
            switch (member)
            {
                case FieldDeclarationSyntax field:
                    foreach (var v in field.Declaration.Variables) yield return v.Identifier.ValueText;
                    break;
                case MethodDeclarationSyntax method:
                    yield return method.Identifier.ValueText;
                    break;
                case GlobalStatementSyntax { Statement: LocalDeclarationStatementSyntax local }:
                    foreach (var v in local.Declaration.Variables) yield return v.Identifier.ValueText;
                    break;
                case GlobalStatementSyntax { Statement: ExpressionStatementSyntax statement }:
                    // out var and deconstruction at the top level declare top-level variables.
                    foreach (var d in statement.DescendantNodes(n => n is not AnonymousFunctionExpressionSyntax).OfType<SingleVariableDesignationSyntax>())
                        yield return d.Identifier.ValueText;
                    break;
            }
        }
    }

    /// <summary>Locals with a block scope, outside lambdas and local functions (which may shadow), with the top-level
    /// statement they are in: loop variables, locals of nested blocks, catch variables, pattern variables.</summary>
    static IEnumerable<(SyntaxToken Identifier, SyntaxNode Scope)> NestedDeclarations(CompilationUnitSyntax root)
    {
        foreach (var statement in root.Members.OfType<GlobalStatementSyntax>())
        {
            if (statement.Statement is LocalFunctionStatementSyntax) continue;
            foreach (var node in statement.Statement.DescendantNodesAndSelf(n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
            {
                switch (node)
                {
                    case ForEachStatementSyntax f:
                        yield return (f.Identifier, statement);
                        break;
                    case VariableDeclaratorSyntax v when v.Parent?.Parent is not LocalDeclarationStatementSyntax { Parent: GlobalStatementSyntax }:
                        yield return (v.Identifier, statement);
                        break;
                    case CatchDeclarationSyntax c when c.Identifier.ValueText.Length > 0:
                        yield return (c.Identifier, statement);
                        break;
                    case SingleVariableDesignationSyntax d when statement.Statement is not ExpressionStatementSyntax:
                        yield return (d.Identifier, statement);
                        break;
                }
            }
        }
    }

    /// <summary>A simple name that can refer to a local: not a member (<c>x.T</c>) and not an argument's name (<c>T: 4</c>).</summary>
    static bool IsVariableReference(IdentifierNameSyntax n) => n.Parent switch
    {
        MemberAccessExpressionSyntax access when access.Name == n => false,
        MemberBindingExpressionSyntax or NameColonSyntax => false,
        _ => true,
    };

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

    [GeneratedRegex("""^#load\s+"([^"]+)"\s*$""")]
    private static partial Regex LoadDirective();

    [GeneratedRegex("""^#r\s+"([^"]+)"\s*$""")]
    private static partial Regex FileReference();
}

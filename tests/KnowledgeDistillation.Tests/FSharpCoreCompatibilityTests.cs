using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using KnowledgeDistillation.Setup;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// Every FSharp.Core type, method and field that the chart assemblies (Plotly.NET and friends, and this library) were
/// compiled against must exist, with the same signature, in the FSharp.Core that the <c>dotnet-interactive</c> tool
/// ships, because <c>FSharpCoreBinding</c> binds their requests for FSharp.Core 10.1 to the tool's older 10.0. A member
/// missing there would fail with <c>MissingMethodException</c> in a notebook cell, far from its cause; this test names
/// it, with the assembly that needs it, as soon as a package or tool update brings one in.
/// </summary>
/// <remarks>Reads metadata only (System.Reflection.Metadata); nothing is loaded. Only assemblies that reference an
/// FSharp.Core newer than the tool's are checked (older references bind to it without help). Types and members are
/// compared as canonical strings, signatures included, such as <c>static Microsoft.FSharp.Core.FSharpFunc`2::InvokeFast``1(
/// Microsoft.FSharp.Core.FSharpFunc`2&lt;!0,Microsoft.FSharp.Core.FSharpFunc`2&lt;!1,!!0&gt;&gt;,!0,!1) : !!0</c>.</remarks>
public class FSharpCoreCompatibilityTests
{
    /// <summary>FSharp.Core types (full names, nested as <c>Outer/Inner</c>) and members (<c>Type::Member</c> with
    /// their signatures), either used by an assembly or defined by an FSharp.Core.</summary>
    internal sealed record Api(ImmutableHashSet<string> Types, ImmutableHashSet<string> Members);

    [Fact]
    public void Every_FSharp_Core_member_the_chart_assemblies_use_exists_in_the_notebook_tools_FSharp_Core()
    {
        var (toolVersion, defined) = Definitions(ToolFSharpCore());
        var checkedAssemblies = new List<string>();
        var missing = new List<string>();
        int typeRefs = 0, memberRefs = 0;
        foreach (var dll in Directory.GetFiles(AppContext.BaseDirectory, "*.dll").Order(StringComparer.Ordinal).Append(PlotlyKernelExtension()))
        {
            if (References(dll, toolVersion) is not { } used) continue; // no reference to an FSharp.Core newer than the tool's
            checkedAssemblies.Add(Path.GetFileName(dll));
            typeRefs += used.Types.Count;
            memberRefs += used.Members.Count;
            missing.AddRange(Missing(used, defined).Select(m => $"{Path.GetFileName(dll)}: {m}"));
        }

        Assert.True(missing.Count == 0,
            $"The tool's FSharp.Core {toolVersion} lacks {missing.Count} type(s)/member(s) that these assemblies use, so " +
            $"FSharpCoreBinding cannot bind them to it safely:{Environment.NewLine}{string.Join(Environment.NewLine, missing)}");
        // Guard against passing vacuously: the chart assemblies were found and their references were read.
        Assert.Contains("Plotly.NET.dll", checkedAssemblies);
        Assert.Contains("Plotly.NET.Interactive.dll", checkedAssemblies);
        Assert.True(typeRefs > 50 && memberRefs > 100,
            $"Only {typeRefs} type and {memberRefs} member references found in {string.Join(", ", checkedAssemblies)}.");
    }

    [Fact]
    public void The_environment_report_judges_the_kernel_by_the_version_inside_the_pinned_tool()
    {
        var deps = File.ReadAllText(Path.Combine(Path.GetDirectoryName(ToolFSharpCore())!, "Microsoft.DotNet.Interactive.App.deps.json"));
        Assert.Contains($"\"Microsoft.DotNet.Interactive/{KnowledgeDistillation.Setup.KdEnvironment.TestedInteractiveVersion}\"", deps);
        Assert.StartsWith("none", KnowledgeDistillation.Setup.KdEnvironment.NotebookKernel()); // a test host is no kernel
    }

    [Fact]
    public void The_check_names_a_member_or_type_that_the_older_FSharp_Core_lacks()
    {
        // Plotly.NET's references against the FSharp.Core it was built against (next to the tests): nothing is missing,
        // which also shows that references and definitions are written the same way.
        var used = References(Path.Combine(AppContext.BaseDirectory, "Plotly.NET.dll"), olderThan: new Version(0, 0))!;
        var (_, defined) = Definitions(Path.Combine(AppContext.BaseDirectory, "FSharp.Core.dll"));
        Assert.Empty(Missing(used, defined));

        // Take away one member, then one type: each is reported, and nothing else.
        var member = used.Members.Order(StringComparer.Ordinal).First(m => m.Contains("FSharpOption`1::", StringComparison.Ordinal));
        Assert.Equal([member], Missing(used, defined with { Members = defined.Members.Remove(member) }));

        var type = used.Types.Order(StringComparer.Ordinal).First();
        Assert.Equal([type], Missing(used, defined with { Types = defined.Types.Remove(type) }));
    }

    /// <summary>What <paramref name="used"/> needs that <paramref name="defined"/> lacks, sorted.</summary>
    internal static List<string> Missing(Api used, Api defined) =>
        used.Types.Except(defined.Types).Concat(used.Members.Except(defined.Members)).Order(StringComparer.Ordinal).ToList();

    /// <summary>The FSharp.Core.dll of the <c>dotnet-interactive</c> version pinned in .config/dotnet-tools.json, from
    /// the NuGet global packages folder.</summary>
    static string ToolFSharpCore()
    {
        string root = RepoRoot();
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, ".config", "dotnet-tools.json")));
        var version = manifest.RootElement.GetProperty("tools").GetProperty("microsoft.dotnet-interactive").GetProperty("version").GetString();
        var packages = NuGetPackages();
        var path = Path.Combine(packages, "microsoft.dotnet-interactive", version!, "tools", "net10.0", "any", "FSharp.Core.dll");
        Assert.True(File.Exists(path), $"{path} is missing: run `dotnet tool restore` in the repository root ({root}).");
        return path;
    }

    /// <summary>Plotly.NET.Interactive.dll as the kernel loads it: from the package's interactive-extensions/dotnet
    /// folder, at the version Directory.Packages.props pins (the test project downloads it).</summary>
    static string PlotlyKernelExtension()
    {
        var props = File.ReadAllText(Path.Combine(RepoRoot(), "Directory.Packages.props"));
        var version = System.Text.RegularExpressions.Regex.Match(props, "<PlotlyNetInteractiveVersion>([^<]+)</").Groups[1].Value;
        var path = Path.Combine(NuGetPackages(), "plotly.net.interactive", version, "interactive-extensions", "dotnet", "Plotly.NET.Interactive.dll");
        Assert.True(File.Exists(path), $"{path} is missing: `dotnet restore tests/KnowledgeDistillation.Tests` downloads it.");
        return path;
    }

    static string RepoRoot() => KnowledgeDistillation.Runtime.RepoPaths.Root ?? throw new InvalidOperationException($"No Notebooks.sln above {AppContext.BaseDirectory}.");

    static string NuGetPackages() => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
        ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The assembly version of an FSharp.Core and every type (including forwarded ones) and member it defines.</summary>
    internal static (Version Version, Api Api) Definitions(string fsharpCore)
    {
        using var pe = new PEReader(File.OpenRead(fsharpCore));
        var md = pe.GetMetadataReader();
        var types = ImmutableHashSet.CreateBuilder<string>();
        var members = ImmutableHashSet.CreateBuilder<string>();
        foreach (var handle in md.TypeDefinitions)
        {
            var type = md.GetTypeDefinition(handle);
            var name = Names.Of(md, handle);
            types.Add(name);
            foreach (var m in type.GetMethods())
            {
                var method = md.GetMethodDefinition(m);
                members.Add(Method(name, md.GetString(method.Name), method.DecodeSignature(Names.Instance, null)));
            }
            foreach (var f in type.GetFields())
            {
                var field = md.GetFieldDefinition(f);
                members.Add(Field(name, md.GetString(field.Name), field.DecodeSignature(Names.Instance, null)));
            }
        }
        foreach (var exported in md.ExportedTypes) types.Add(Names.Of(md, exported));
        return (md.GetAssemblyDefinition().Version, new Api(types.ToImmutable(), members.ToImmutable()));
    }

    /// <summary>The FSharp.Core types and members <paramref name="dll"/> references, or null when it references no
    /// FSharp.Core newer than <paramref name="olderThan"/> (or is not a .NET assembly).</summary>
    internal static Api? References(string dll, Version olderThan)
    {
        using var pe = new PEReader(File.OpenRead(dll));
        if (!pe.HasMetadata) return null;
        var md = pe.GetMetadataReader();
        var fsharpCore = md.AssemblyReferences.Where(a =>
            md.GetAssemblyReference(a) is var r && md.GetString(r.Name) == "FSharp.Core" && r.Version > olderThan).ToHashSet();
        if (fsharpCore.Count == 0) return null;

        // A type reference is FSharp.Core's when its scope, through any enclosing types, is that assembly reference.
        bool InFSharpCore(TypeReferenceHandle h) => md.GetTypeReference(h).ResolutionScope is var scope && scope.Kind switch
        {
            HandleKind.AssemblyReference => fsharpCore.Contains((AssemblyReferenceHandle)scope),
            HandleKind.TypeReference => InFSharpCore((TypeReferenceHandle)scope),
            _ => false,
        };
        var types = md.TypeReferences.Where(InFSharpCore).ToHashSet();
        var members = ImmutableHashSet.CreateBuilder<string>();
        foreach (var handle in md.MemberReferences)
        {
            var member = md.GetMemberReference(handle);
            // The declaring type: an FSharp.Core type reference, or a generic instantiation of one (FSharpOption<int>).
            var parent = member.Parent;
            if (parent.Kind == HandleKind.TypeSpecification)
            {
                var blob = md.GetBlobReader(md.GetTypeSpecification((TypeSpecificationHandle)parent).Signature);
                if (blob.ReadSignatureTypeCode() != SignatureTypeCode.GenericTypeInstance) continue;
                blob.ReadSignatureTypeCode(); // class or valuetype
                parent = blob.ReadTypeHandle();
            }
            if (parent.Kind != HandleKind.TypeReference || !types.Contains((TypeReferenceHandle)parent)) continue;
            var type = Names.Of(md, (TypeReferenceHandle)parent);
            var name = md.GetString(member.Name);
            members.Add(member.GetKind() == MemberReferenceKind.Method
                ? Method(type, name, member.DecodeMethodSignature(Names.Instance, null))
                : Field(type, name, member.DecodeFieldSignature(Names.Instance, null)));
        }
        return new Api(types.Select(t => Names.Of(md, t)).ToImmutableHashSet(), members.ToImmutable());
    }

    static string Method(string type, string name, MethodSignature<string> s) =>
        $"{(s.Header.IsInstance ? "" : "static ")}{type}::{name}{(s.GenericParameterCount > 0 ? $"``{s.GenericParameterCount}" : "")}" +
        $"({string.Join(",", s.ParameterTypes)}) : {s.ReturnType}";

    static string Field(string type, string name, string fieldType) => $"{type}::{name} : {fieldType}";

    /// <summary>Canonical type names from signatures, the same whichever assembly the signature is in: full names
    /// without assembly, nested as <c>Outer/Inner</c>, generic parameters as <c>!0</c> (type) and <c>!!0</c> (method).</summary>
    sealed class Names : ISignatureTypeProvider<string, object?>
    {
        public static readonly Names Instance = new();

        public static string Of(MetadataReader md, TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            return t.GetDeclaringType() is { IsNil: false } outer ? $"{Of(md, outer)}/{md.GetString(t.Name)}" : Full(md, t.Namespace, t.Name);
        }

        public static string Of(MetadataReader md, TypeReferenceHandle h)
        {
            var t = md.GetTypeReference(h);
            return t.ResolutionScope.Kind == HandleKind.TypeReference
                ? $"{Of(md, (TypeReferenceHandle)t.ResolutionScope)}/{md.GetString(t.Name)}" : Full(md, t.Namespace, t.Name);
        }

        public static string Of(MetadataReader md, ExportedTypeHandle h)
        {
            var t = md.GetExportedType(h);
            return t.Implementation.Kind == HandleKind.ExportedType
                ? $"{Of(md, (ExportedTypeHandle)t.Implementation)}/{md.GetString(t.Name)}" : Full(md, t.Namespace, t.Name);
        }

        static string Full(MetadataReader md, StringHandle ns, StringHandle name) =>
            ns.IsNil || md.GetString(ns).Length == 0 ? md.GetString(name) : $"{md.GetString(ns)}.{md.GetString(name)}";

        public string GetTypeFromDefinition(MetadataReader md, TypeDefinitionHandle h, byte rawTypeKind) => Of(md, h);
        public string GetTypeFromReference(MetadataReader md, TypeReferenceHandle h, byte rawTypeKind) => Of(md, h);
        public string GetTypeFromSpecification(MetadataReader md, object? context, TypeSpecificationHandle h, byte rawTypeKind) =>
            md.GetTypeSpecification(h).DecodeSignature(this, context);
        public string GetPrimitiveType(PrimitiveTypeCode code) => $"System.{code}";
        public string GetSZArrayType(string element) => $"{element}[]";
        public string GetArrayType(string element, ArrayShape shape) => $"{element}[{(shape.Rank == 1 ? "*" : new string(',', shape.Rank - 1))}]";
        public string GetByReferenceType(string element) => $"{element}&";
        public string GetPointerType(string element) => $"{element}*";
        public string GetPinnedType(string element) => $"pinned {element}";
        public string GetModifiedType(string modifier, string unmodified, bool isRequired) =>
            $"{unmodified} {(isRequired ? "modreq" : "modopt")}({modifier})";
        public string GetGenericInstantiation(string generic, ImmutableArray<string> arguments) => $"{generic}<{string.Join(",", arguments)}>";
        public string GetGenericTypeParameter(object? context, int index) => $"!{index}";
        public string GetGenericMethodParameter(object? context, int index) => $"!!{index}";
        public string GetFunctionPointerType(MethodSignature<string> s) =>
            $"method {s.ReturnType} *({string.Join(",", s.ParameterTypes)})";
    }
}

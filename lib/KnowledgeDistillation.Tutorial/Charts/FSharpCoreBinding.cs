using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace KnowledgeDistillation.Charts;

/// <summary>
/// Lets Plotly.NET run inside a notebook kernel whose own FSharp.Core is an older minor version than the one
/// Plotly.NET was compiled against.
/// </summary>
/// <remarks>
/// <para>
/// Why: Plotly.NET 6.0.0 (and this library) are compiled against FSharp.Core 10.1 (assembly version 10.1.0.0). The
/// <c>dotnet-interactive</c> tool that VS Code's Polyglot Notebooks and Jupyter start ships FSharp.Core 10.0.103
/// (assembly version 10.0.0.0) on its own trusted path, and a notebook cannot replace it: the default load context
/// refuses to bind a request for 10.1.0.0 to 10.0.0.0, so the first chart failed with
/// <c>FileNotFoundException: Could not load file or assembly 'FSharp.Core, Version=10.1.0.0'</c>.
/// </para>
/// <para>
/// What: a <see cref="AssemblyLoadContext.Resolving"/> handler on the default context that answers a failed request
/// for FSharp.Core with the FSharp.Core of the same major version that the host already has. The handler only runs when
/// the normal binding has failed, so programs that carry FSharp.Core 10.1 themselves (the CLI, the tests, the
/// exported apps) never reach it. Binding across a minor version is safe only if every FSharp.Core type and member the
/// chart assemblies use exists in the older one; <c>FSharpCoreCompatibilityTests</c> checks exactly that against the
/// tool's FSharp.Core, member by member.
/// </para>
/// <para>
/// The tutorial assembly installs the handler from its module initializer, which the runtime runs before any of its
/// code: every chart is drawn by code in this assembly, so the handler is in place before Plotly.NET asks for
/// FSharp.Core. The notebook harness checks every chart of every notebook in the real kernel.
/// </para>
/// </remarks>
public static class FSharpCoreBinding
{
    const string FSharpCore = "FSharp.Core";
    static int installed;
    static volatile Assembly? boundTo;
    [ThreadStatic] static bool resolving;

    /// <summary>The FSharp.Core a failed request was bound to, or null while none was needed.</summary>
    public static AssemblyName? BoundTo => boundTo?.GetName();

    /// <summary>Installs the handler once per process; later calls do nothing.</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref installed, 1) == 0)
            AssemblyLoadContext.Default.Resolving += Resolve;
    }

#pragma warning disable CA2255 // A module initializer in a library is deliberate: it must run before the first chart.
    [ModuleInitializer]
    internal static void OnLibraryLoad() => Install();
#pragma warning restore CA2255

    /// <summary>Whether a failed request for <paramref name="requested"/> may be answered with
    /// <paramref name="available"/>: both are FSharp.Core with the same public key and major version, and the available
    /// one is older than the one requested (a newer one would have bound without help).</summary>
    internal static bool Accepts(AssemblyName requested, AssemblyName available) =>
        requested.Name == FSharpCore && available.Name == FSharpCore &&
        requested.Version is { } wanted && available.Version is { } have &&
        wanted.Major == have.Major && have < wanted &&
        KeyToken(requested) == KeyToken(available);

    static string KeyToken(AssemblyName name) => Convert.ToHexString(name.GetPublicKeyToken() ?? []);

    static Assembly? Resolve(AssemblyLoadContext context, AssemblyName requested)
    {
        if (requested.Name != FSharpCore || resolving) return null;
        resolving = true;
        try
        {
            var host = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a =>
                           a.GetName().Name == FSharpCore && AssemblyLoadContext.GetLoadContext(a) == AssemblyLoadContext.Default)
                       ?? TryLoadHostCopy(context);
            if (host is null || !Accepts(requested, host.GetName())) return null;
            boundTo = host;
            return host;
        }
        finally
        {
            resolving = false;
        }
    }

    /// <summary>The host's FSharp.Core, asked for without a version (its trusted copy, whatever version it is).</summary>
    static Assembly? TryLoadHostCopy(AssemblyLoadContext context)
    {
        try
        {
            return context.LoadFromAssemblyName(new AssemblyName(FSharpCore));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            return null;
        }
    }
}

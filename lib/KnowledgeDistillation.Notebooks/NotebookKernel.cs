using System.Collections.Concurrent;
using System.Reactive.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;

namespace KnowledgeDistillation.Notebooks;

/// <summary>
/// Builds a C# kernel configured as VS Code's Polyglot Notebooks configures it: <c>#r "nuget:"</c>, the kernel helpers
/// (<c>display</c>), HTML as the default output, and kernel extensions from each restored package's
/// <c>interactive-extensions/dotnet</c> folder (what makes Plotly.NET charts and DataFrames render as HTML).
/// </summary>
/// <remarks>
/// The set-up mirrors the <c>dotnet-interactive</c> tool's (its KernelBuilder and KernelExtensionLoader live in the
/// tool, not in the NuGet packages, so they are rebuilt here from the packages' public API).
/// Formatter settings are process-wide, so run one notebook per process.
/// </remarks>
public static class NotebookKernel
{
    /// <summary>Creates the composite kernel with one C# kernel as its default.</summary>
    public static CompositeKernel Create()
    {
        Formatter.DefaultMimeType = HtmlFormatter.MimeType;
        Formatter.SetPreferredMimeTypesFor(typeof(string), PlainTextFormatter.MimeType);

        var csharp = new CSharpKernel()
            .UseNugetDirective((kernel, references) =>
            {
                kernel.AddAssemblyReferences(references.SelectMany(r => r.AssemblyPaths));
                return Task.CompletedTask;
            })
            .UseKernelHelpers()
            .UseWho()
            .UseValueSharing();

        var composite = new CompositeKernel { FrontendEnvironment = new HeadlessFrontendEnvironment() };
        composite.Add(csharp, ["c#", "C#"]);
        composite.UseImportMagicCommand();
        composite.DefaultKernelName = csharp.Name;
        LoadExtensionsFromRestoredPackages(composite);
        return composite;
    }

    /// <summary>After each command that restored packages, loads the <see cref="IKernelExtension"/>s those packages ship.</summary>
    static void LoadExtensionsFromRestoredPackages(CompositeKernel kernel)
    {
        var pending = new ConcurrentQueue<string>();
        var seenRoots = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var seenAssemblies = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        kernel.RegisterForDisposal(kernel.KernelEvents.OfType<PackageAdded>().Subscribe(added =>
        {
            if (added.PackageReference.PackageRoot is { } root) pending.Enqueue(root);
        }));

        kernel.AddMiddleware(async (command, context, next) =>
        {
            await next(command, context);
            while (pending.TryDequeue(out var root))
            {
                var folder = Path.Combine(root, "interactive-extensions", "dotnet");
                if (!seenRoots.Add(root) || !Directory.Exists(folder)) continue;
                foreach (var dll in Directory.GetFiles(folder, "*.dll"))
                {
                    if (!seenAssemblies.Add(AssemblyName.GetAssemblyName(dll).FullName)) continue;
                    var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(dll);
                    var extensions = assembly.GetExportedTypes().Where(t =>
                        t is { IsAbstract: false, IsInterface: false, IsGenericTypeDefinition: false } &&
                        typeof(IKernelExtension).IsAssignableFrom(t));
                    foreach (var type in extensions)
                    {
                        try
                        {
                            var extension = (IKernelExtension)Activator.CreateInstance(type)!;
                            await extension.OnLoadAsync(kernel);
                            context.Publish(new KernelExtensionLoaded(extension, context.Command));
                        }
                        catch (Exception e)
                        {
                            context.Fail(context.Command, e, $"Failed to load kernel extension {type.FullName} from {dll}: {e.Message}");
                        }
                    }
                }
                var script = Path.Combine(folder, "extension.dib");
                if (File.Exists(script))
                    await kernel.LoadAndRunInteractiveDocument(new FileInfo(script), context.Command);
            }
        });
    }

    sealed class HeadlessFrontendEnvironment : FrontendEnvironment;
}

using System.Runtime.CompilerServices;
using KnowledgeDistillation.Runtime;

namespace KnowledgeDistillation.Tests;

static class TestAssemblySetup
{
    /// <summary>Prepare torch's natives before any test, whichever test touches torch first.</summary>
    [ModuleInitializer]
    internal static void Initialize() => TorchNative.EnsureLoaded();
}

using System.Runtime.CompilerServices;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Setup;

namespace KnowledgeDistillation.Tests;

static class TestAssemblySetup
{
    /// <summary>Prepare torch's natives before any test, whichever test touches torch first; and pin the language of
    /// the exercises' messages to English, which the tests expect, whatever KD_LANG the shell has (the tests of the
    /// zh-TW messages choose zh-TW themselves).</summary>
    [ModuleInitializer]
    internal static void Initialize()
    {
        Environment.SetEnvironmentVariable(KdEnvironment.LanguageVariable, KdEnvironment.English);
        TorchNative.EnsureLoaded();
    }
}

using System.Runtime.CompilerServices;

namespace Notebooks.Tests;

static class TestAssemblySetup
{
    /// <summary>The kernels, kd and the apps these tests start inherit this process's environment. Without KD_LANG the
    /// notebook's folder decides the language of the exercises' messages, as in VS Code: English in notebooks/, Chinese
    /// in notebooks/zh-TW/, which the tests expect, whatever KD_LANG the shell has. (The library's
    /// KdEnvironment.LanguageVariable; this project does not reference the library.)</summary>
    [ModuleInitializer]
    internal static void Initialize() => Environment.SetEnvironmentVariable("KD_LANG", null);
}

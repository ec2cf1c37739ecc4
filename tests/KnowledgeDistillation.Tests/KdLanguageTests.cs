using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Setup;

namespace KnowledgeDistillation.Tests;

/// <summary>Tests that change the process's environment variables or current directory: they restore them, and run
/// on their own, never alongside another test (whose checks would read the changed language).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessStateCollection
{
    public const string Name = "Process environment and working directory";
}

/// <summary><see cref="KdEnvironment.Language"/>: KD_LANG decides when set; otherwise a working directory named zh-TW
/// (a notebook in notebooks/zh-TW, run with its folder as the working directory) gives zh-TW; anything else English.</summary>
[Collection(ProcessStateCollection.Name)]
public class KdLanguageTests
{
    [Theory]
    [InlineData(null, "zh-TW", "zh-TW")]
    [InlineData("", "zh-TW", "zh-TW")]
    [InlineData(null, "zh-tw", "zh-TW")]
    [InlineData(null, "notebooks", "en")]
    [InlineData(null, "zh", "en")]
    [InlineData(null, null, "en")]
    [InlineData("zh-TW", "notebooks", "zh-TW")]
    [InlineData("ZH-tw", null, "zh-TW")]
    [InlineData(" zh-TW ", null, "zh-TW")]
    [InlineData("en", "zh-TW", "en")]
    [InlineData("fr", "zh-TW", "en")]
    [InlineData("zh-CN", "zh-TW", "en")]
    public void KD_LANG_decides_when_set_else_the_directory_name(string? variable, string? directoryName, string expected) =>
        Assert.Equal(expected, KdEnvironment.LanguageFor(variable, directoryName));

    [Fact]
    public void The_variable_and_the_working_directory_select_the_language_of_the_checks()
    {
        static string Stub() => DivergenceChecks.CheckKl((p, q) => throw new NotImplementedException()).Message;
        var savedVariable = Environment.GetEnvironmentVariable(KdEnvironment.LanguageVariable);
        var savedDirectory = Directory.GetCurrentDirectory();
        var root = Directory.CreateTempSubdirectory("kd-language-");
        try
        {
            var zhTW = Directory.CreateDirectory(Path.Combine(root.FullName, "notebooks", "zh-TW")).FullName;
            var english = Path.Combine(root.FullName, "notebooks");

            Environment.SetEnvironmentVariable(KdEnvironment.LanguageVariable, null);
            Directory.SetCurrentDirectory(english);
            Assert.Equal("en", KdEnvironment.Language);
            Assert.StartsWith("Not attempted yet: MyKl still throws", Stub());

            Directory.SetCurrentDirectory(zhTW);
            Assert.Equal("zh-TW", KdEnvironment.Language);
            Assert.Equal("尚未作答：MyKl 仍然擲出 NotImplementedException。把那一行換成你的程式碼，執行儲存格，然後再執行一次這個檢查。", Stub());

            Environment.SetEnvironmentVariable(KdEnvironment.LanguageVariable, "en"); // the variable wins over the folder
            Assert.Equal("en", KdEnvironment.Language);
            Environment.SetEnvironmentVariable(KdEnvironment.LanguageVariable, "de");
            Assert.Equal("en", KdEnvironment.Language);

            Directory.SetCurrentDirectory(english);
            Environment.SetEnvironmentVariable(KdEnvironment.LanguageVariable, "zh-TW");
            Assert.Equal("zh-TW", KdEnvironment.Language);
            Assert.StartsWith("尚未作答：", Stub());

            using (KdEnvironment.UseLanguage(KdEnvironment.English)) // the tests' override wins over both
                Assert.Equal("en", KdEnvironment.Language);
            Assert.Equal("zh-TW", KdEnvironment.Language);
        }
        finally
        {
            Directory.SetCurrentDirectory(savedDirectory);
            Environment.SetEnvironmentVariable(KdEnvironment.LanguageVariable, savedVariable);
            root.Delete(recursive: true);
        }
        Assert.Equal(savedDirectory, Directory.GetCurrentDirectory());
    }
}

using System.Text.RegularExpressions;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>
/// README.md and its Traditional Chinese first half, README.zh-TW.md: each lists every notebook of its edition (the
/// zh-TW one with the English beside it), their relative links and section anchors lead somewhere, and the zh-TW README's
/// command blocks are the English README's, so a changed command cannot stay behind in the translation.
/// </summary>
public partial class ReadmeTests
{
    static string Read(string name) => File.ReadAllText(Path.Combine(NotebookFiles.RepoRoot, name));

    public static TheoryData<string> Readmes() => ["README.md", "README.zh-TW.md"];

    [Fact]
    public void Each_README_links_every_notebook_of_its_edition()
    {
        string english = Read("README.md"), chinese = Read("README.zh-TW.md");
        foreach (var notebook in NotebookFiles.All().Select(Path.GetFileName))
        {
            Assert.Contains($"](notebooks/{notebook})", english);
            Assert.Contains($"](notebooks/{notebook})", chinese);
            Assert.Contains($"](notebooks/zh-TW/{notebook})", chinese);
        }
        Assert.Contains("](README.zh-TW.md)", english);
        Assert.Contains("](README.md)", chinese);
    }

    /// <summary>Relative links point to files or folders that exist, and <c>README.md#anchor</c> to a heading of
    /// README.md (GitHub's anchors: the heading in lower case, without punctuation, spaces as hyphens).</summary>
    [Theory]
    [MemberData(nameof(Readmes))]
    public void Relative_links_and_anchors_lead_somewhere(string name)
    {
        var anchors = Heading().Matches(Read("README.md")).Select(m => Anchor(m.Groups["title"].Value)).ToHashSet();
        var broken = new List<string>();
        foreach (Match link in NotebookHygieneTests.MarkdownLink().Matches(Read(name)))
        {
            string target = link.Groups["target"].Value;
            if (Regex.IsMatch(target, "^[A-Za-z][A-Za-z0-9+.-]*:")) continue; // https:, mailto:
            var parts = target.Split('#', 2);
            string path = parts[0].Length == 0 ? name : parts[0];
            if (!File.Exists(Path.Combine(NotebookFiles.RepoRoot, path)) && !Directory.Exists(Path.Combine(NotebookFiles.RepoRoot, path)))
                broken.Add($"]({target}): no {path}");
            else if (parts.Length == 2 && path == "README.md" && !anchors.Contains(parts[1]))
                broken.Add($"]({target}): README.md has no heading with the anchor #{parts[1]}");
        }
        Assert.True(broken.Count == 0, $"{name}:{Environment.NewLine}{string.Join(Environment.NewLine, broken)}");
    }

    /// <summary>Every command in the zh-TW README's code blocks is one the English README's code blocks show (the
    /// comments after <c>#</c> may be translated).</summary>
    [Fact]
    public void The_zh_TW_READMEs_commands_are_the_english_READMEs()
    {
        var english = Commands(Read("README.md")).ToHashSet();
        var chinese = Commands(Read("README.zh-TW.md")).ToList();
        Assert.NotEmpty(chinese);
        var stale = chinese.Where(c => !english.Contains(c)).ToList();
        Assert.True(stale.Count == 0,
            $"README.zh-TW.md shows commands that README.md does not (bring them up to date with the English README):{Environment.NewLine}{string.Join(Environment.NewLine, stale)}");
    }

    /// <summary>The command lines of a Markdown file's code blocks, without their comments, spaces made single.</summary>
    static IEnumerable<string> Commands(string markdown) =>
        CodeBlock().Matches(markdown)
            .SelectMany(block => block.Value.Split('\n')[1..^1])
            .Select(line => Regex.Replace(Regex.Replace(line, @"(^|\s)#(?![r!]).*$", ""), @"\s+", " ").Trim())
            .Where(line => line.Length > 0);

    [Fact]
    public void Anchors_follow_GitHubs_rule()
    {
        Assert.Equal("gpu-cuda", Anchor("GPU (CUDA)"));
        Assert.Equal("4-the-test-harness", Anchor("4. The test harness"));
        Assert.Equal("the-kd-tool", Anchor("The `kd` tool"));
        Assert.Equal("deprecation-of-polyglot-notebooks-and-net-interactive", Anchor("Deprecation of Polyglot Notebooks and .NET Interactive"));
    }

    static string Anchor(string heading) =>
        Regex.Replace(heading.Trim().ToLowerInvariant(), @"[^\p{L}\p{Nd}\s_-]", "").Replace(' ', '-');

    [GeneratedRegex(@"^#{1,6} (?<title>.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"^```[a-z]*\n.*?\n```$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CodeBlock();
}

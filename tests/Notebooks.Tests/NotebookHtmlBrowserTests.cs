using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Notebooks;
using Xunit.Abstractions;

namespace Notebooks.Tests;

/// <summary>
/// The static pages' math, typeset in a real browser: headless Chromium, cut off from the network, so that a page that
/// needed a CDN would show TeX source here. Needs a <c>chromium</c> on PATH (<c>apt-get install -y chromium</c>);
/// without one the tests pass with a note, except in CI (CI=true), where they fail.
/// </summary>
public class NotebookHtmlBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public void Notebook_02s_math_is_typeset_by_katex_offline()
    {
        string html = NotebookHtml.Render(File.ReadAllText(Path.Combine(NotebookFiles.Directory, "02-temperature.ipynb")), "02-temperature", plotlyJs: null);
        int math = Regex.Matches(html, "class=\"math\"").Count;
        Assert.True(math > 20, $"notebook 02 should have plenty of math; the page has {math} math elements");

        if (DumpDom(html) is not { } dom) return;
        int typeset = Regex.Matches(dom, "class=\"katex\"").Count;
        int errors = Regex.Matches(dom, "class=\"katex-error\"").Count;
        output.WriteLine($"{math} math elements, {typeset} typeset by KaTeX, {errors} KaTeX errors");
        Assert.Equal(0, errors);
        Assert.Equal(math, typeset);
        Assert.Equal(Regex.Matches(html, "class=\"math\">\\\\\\[").Count, Regex.Matches(dom, "class=\"katex-display\"").Count);
    }

    [Fact]
    public void Tex_that_katex_cannot_parse_still_shows_as_its_source()
    {
        var notebook = new JsonObject
        {
            ["cells"] = new JsonArray(new JsonObject
            {
                ["cell_type"] = "markdown",
                ["metadata"] = new JsonObject(),
                ["source"] = "Fine $x^2$; a parse error $x^^2$; unbalanced braces $\\frac{a}{b$; an unknown macro $\\nosuchmacro{y}$.",
            }),
            ["metadata"] = new JsonObject(),
            ["nbformat"] = 4,
            ["nbformat_minor"] = 2,
        };
        if (DumpDom(NotebookHtml.Render(notebook.ToJsonString(), "broken math", plotlyJs: null)) is not { } dom) return;
        // throwOnError: false. A parse error shows the source in red, with the error as its tooltip ...
        Assert.Matches("<span class=\"katex-error\" title=\"ParseError: [^\"]*\"[^>]*>x\\^\\^2</span>", dom);
        // ... auto-render leaves math with unbalanced braces as it is ...
        Assert.Contains("<span class=\"math\">\\(\\frac{a}{b\\)</span>", dom);
        // ... an unknown macro is typeset, its name in red; and the math after an error is typeset too.
        Assert.Equal(2, Regex.Matches(dom, "class=\"katex\"").Count);
        Assert.Contains(">\\nosuchmacro</span>", dom);
    }

    /// <summary>The page's DOM after Chromium has loaded it and run its scripts, or null (with a note) when Chromium is
    /// not installed outside CI.</summary>
    string? DumpDom(string html)
    {
        if (FindChromium() is not { } chromium)
        {
            const string missing = "chromium is not on PATH, so the page's math was not checked in a browser. Install it with: apt-get install -y chromium";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)) Assert.Fail(missing);
            output.WriteLine("NOT CHECKED: " + missing);
            return null;
        }

        string dir = Directory.CreateTempSubdirectory("kd-html-").FullName;
        try
        {
            string page = Path.Combine(dir, "page.html");
            File.WriteAllText(page, html);
            var start = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[]
                     {
                         "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + Path.Combine(dir, "profile"),
                         // No network: every connection goes to a closed local port, every host name fails to resolve.
                         "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
                         "--virtual-time-budget=10000", "--dump-dom", new Uri(page).AbsoluteUri,
                     })
                start.ArgumentList.Add(arg);
            var (finished, exitCode, log, elapsed) = NotebookProcess.Capture(start, TimeSpan.FromMinutes(2));
            Assert.True(finished && exitCode == 0, $"chromium failed (exit {exitCode}, {elapsed.TotalSeconds:0} s):\n{Tail(log)}");
            Assert.Contains("</html>", log);
            return log;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } // Chromium may still hold its profile
        }
    }

    static string? FindChromium() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => new[] { "chromium", "chromium-browser", "chromium.exe" }.Select(name => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);

    static string Tail(string log) => log.Length <= 3000 ? log : "..." + log[^3000..];
}

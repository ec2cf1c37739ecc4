using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>The static HTML page of an executed notebook, on a small hand-made notebook.</summary>
public class NotebookHtmlTests
{
    const string FakePlotly = "/* plotly.js stand-in */ window.Plotly = { newPlot: function () {} };";

    static JsonObject Code(string source, params JsonObject[] outputs) => new()
    {
        ["cell_type"] = "code",
        ["execution_count"] = 1,
        ["metadata"] = new JsonObject(),
        ["source"] = source,
        ["outputs"] = new JsonArray(outputs),
    };

    static string Page(params JsonObject[] cells) => NotebookHtml.Render(new JsonObject
    {
        ["cells"] = new JsonArray(cells),
        ["metadata"] = new JsonObject(),
        ["nbformat"] = 4,
        ["nbformat_minor"] = 2,
    }.ToJsonString(), "sample <title>", FakePlotly);

    static JsonObject Markdown(string source) => new() { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = source };

    static JsonObject Html(string html) => new() { ["output_type"] = "execute_result", ["execution_count"] = 1, ["metadata"] = new JsonObject(), ["data"] = new JsonObject { ["text/html"] = html } };

    [Fact]
    public void Markdown_becomes_html_with_math_for_katex_and_notebook_links_pointing_to_pages()
    {
        var page = Page(Markdown("## Soft labels\n\nThe entropy $H(p) = -\\sum_i p_i \\log p_i$ and\n\n$$x' = \\frac{x}{T}$$\n\n$$\ny = 2 < 3\n$$\n\nNext: [01](01-soft-and-hard-labels.ipynb)"));
        Assert.Contains("<h2>Soft labels</h2>", page);
        Assert.Contains("<span class=\"math\">\\(H(p) = -\\sum_i p_i \\log p_i\\)</span>", page);
        // $$…$$ on one line, in a paragraph, is display math, as in Jupyter; so is a $$ block.
        Assert.Contains("<span class=\"math\">\\[x' = \\frac{x}{T}\\]</span>", page);
        Assert.Matches(@"<div class=""math"">\s*\\\[\s*y = 2 &lt; 3\s*\\\]\s*</div>", page);
        Assert.Contains("href=\"01-soft-and-hard-labels.html\"", page);
        Assert.Contains("<title>sample &lt;title&gt;</title>", page);
    }

    /// <summary>A browser tab shows the notebook's own title, its first # heading as plain text, in either edition; a
    /// notebook without one keeps the name it is rendered under.</summary>
    [Fact]
    public void The_page_title_is_the_notebooks_first_heading()
    {
        var page = Page(Markdown("Intro."), Markdown("# 01 · Soft labels: what **the teacher** knows, see [`02`](02-temperature.ipynb)\n\n## Goals"));
        Assert.Contains("<title>01 · Soft labels: what the teacher knows, see 02</title>", page);
        Assert.Contains("<title>02 · 溫度：軟化教師的標籤</title>", Page(Markdown("# 02 · 溫度：軟化教師的標籤")));
        Assert.Contains("<title>sample &lt;title&gt;</title>", Page(Markdown("## Only a second-level heading")));
    }

    /// <summary>The contents page lists the folder's notebook pages in name order, each by its title, in the edition's
    /// language; it does not list itself.</summary>
    [Fact]
    public void The_index_lists_the_folders_pages_by_title_in_order()
    {
        string folder = Path.Combine(Path.GetTempPath(), "kd-index-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, "02-temperature.html"), Page(Markdown("# 02 · Temperature & T")));
            File.WriteAllText(Path.Combine(folder, "01-soft-and-hard-labels.html"), Page(Markdown("# 01 · Soft labels")));
            File.WriteAllText(Path.Combine(folder, "notes.txt"), "not a page");
            string index = File.ReadAllText(NotebookHtml.WriteIndex(folder));
            int first = index.IndexOf("<li><a href=\"01-soft-and-hard-labels.html\">01 · Soft labels</a></li>", StringComparison.Ordinal);
            int second = index.IndexOf("<li><a href=\"02-temperature.html\">02 · Temperature &amp; T</a></li>", StringComparison.Ordinal);
            Assert.True(first > 0 && second > first, index);
            Assert.Contains("<html lang=\"en\">", index);
            Assert.DoesNotContain("notes.txt", index);

            string again = NotebookHtml.Index(folder, NotebookEditions.TraditionalChinese); // index.html itself is not listed
            Assert.DoesNotContain("index.html", again);
            Assert.Contains("<html lang=\"zh-Hant-TW\">", again);
            Assert.Contains("<h1>筆記本</h1>", again);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_page_with_math_carries_katex_once_with_its_fonts_and_loads_nothing_from_the_network()
    {
        var page = Page(Markdown("The softmax $p = \\mathrm{softmax}(z / T)$."), Code("1 + 1"), Markdown("$$L = \\alpha T^2 \\mathrm{KL}(p \\| q)$$"));
        // The vendored files, unchanged, once each.
        string katex = Path.Combine(NotebookFiles.RepoRoot, "lib", "KnowledgeDistillation.Notebooks", "ThirdParty", "katex");
        Assert.Equal(1, Occurrences(page, File.ReadAllText(Path.Combine(katex, "katex.min.js"))));
        Assert.Equal(1, Occurrences(page, File.ReadAllText(Path.Combine(katex, "contrib", "auto-render.min.js"))));
        Assert.Equal(1, Occurrences(page, $"version:\"{NotebookHtml.KatexVersion}\""));
        Assert.Contains("throwOnError: false", page);
        Assert.Equal(20, Regex.Matches(page, Regex.Escape("url(data:font/woff2;base64,")).Count);
        Assert.DoesNotMatch(@"url\((?!data:)", page);
        Assert.DoesNotContain("mathjax", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script src", page);
        Assert.DoesNotContain("<link", page);
        // The only URLs on the page are the XML namespaces KaTeX writes into its SVG and MathML.
        Assert.All(Regex.Matches(page, "https?://[^\"' )]*").Select(m => m.Value),
            url => Assert.Contains(url, new[] { "http://www.w3.org/2000/svg", "http://www.w3.org/1998/Math/MathML" }));
        Assert.True(page.IndexOf("renderMathInElement", StringComparison.Ordinal) < page.IndexOf("<main>", StringComparison.Ordinal), "KaTeX must load in <head>");
    }

    static int Occurrences(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    [Fact]
    public void A_page_without_math_carries_no_katex()
    {
        var page = Page(Markdown("No math here, only a price in dollars: 5 $ and a backslash \\("), Code("1 + 1", Html("<span>2</span>")));
        Assert.DoesNotContain("katex", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("class=\"math\"", page);
    }

    [Fact]
    public void Code_and_text_outputs_are_escaped()
    {
        var stream = new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = new JsonArray("a < b & ", "<script>alert(1)</script>\n") };
        var page = Page(Code("var html = \"<b>bold</b>\";\nif (a < b && c > d) { }", stream));
        Assert.Contains("var html = &quot;&lt;b&gt;bold&lt;/b&gt;&quot;;", page);
        Assert.Contains("if (a &lt; b &amp;&amp; c &gt; d)", page);
        Assert.Contains("a &lt; b &amp; &lt;script&gt;alert(1)&lt;/script&gt;", page);
        Assert.DoesNotContain("<script>alert(1)", page);
    }

    [Fact]
    public void A_chart_gets_plotly_js_embedded_once_and_a_require_stand_in()
    {
        const string chart = "<div><div id=\"chart-1\"></div><script>var r = requirejs.config({}) || require; r(['plotly'], function (Plotly) { Plotly.newPlot('chart-1', [], {}); });</script></div>";
        var page = Page(Code("Chart()", Html(chart)), Code("Chart()", Html(chart.Replace("chart-1", "chart-2"))));
        Assert.Contains("id=\"chart-1\"", page);
        Assert.Contains("id=\"chart-2\"", page);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(page, "plotly.js stand-in"));
        Assert.Contains("window.requirejs = function (deps, done) { done(window.Plotly); }", page);
        Assert.True(page.IndexOf("plotly.js stand-in", StringComparison.Ordinal) < page.IndexOf("chart-1", StringComparison.Ordinal), "plotly.js must load before the charts");
        Assert.DoesNotContain($"class=\"nb-output {NotebookHtml.ErrorClass}\"", page);
    }

    [Fact]
    public void Without_charts_the_page_carries_no_plotly_js()
    {
        var page = Page(Code("1 + 1", Html("<span>2</span>")));
        Assert.DoesNotContain("plotly.js stand-in", page);
        Assert.Contains("<span>2</span>", page);
    }

    [Fact]
    public void A_zh_TW_page_is_marked_traditional_chinese_and_an_english_page_english()
    {
        string notebook = File.ReadAllText(Path.Combine(NotebookEditions.TraditionalChinese.Directory(NotebookFiles.RepoRoot), "01-soft-and-hard-labels.ipynb"));
        var page = NotebookHtml.Render(notebook, "01-soft-and-hard-labels", null, NotebookEditions.TraditionalChinese);
        Assert.Contains("<html lang=\"zh-Hant-TW\">", page);
        Assert.Contains("<h1>01 · 軟標籤與硬標籤", page); // UTF-8, not escaped
        Assert.Contains("<html lang=\"en\">", Page(Markdown("# Title")));
        Assert.Contains("<html lang=\"en\">", NotebookHtml.Render(notebook, "t", null, NotebookEditions.English));
    }

    /// <summary>Every page, English ones too (their outputs may quote Chinese), names a Traditional Chinese font for
    /// each system, in the body's and in the code's font stacks, before the generic fallback.</summary>
    [Fact]
    public void Every_page_names_chinese_fonts_for_windows_macos_and_linux()
    {
        var page = Page(Markdown("# Title"));
        foreach (var stack in new[] { NotebookHtml.FontFamily, NotebookHtml.MonospaceFontFamily })
        {
            Assert.Contains(stack, page);
            foreach (var font in new[] { "\"Microsoft JhengHei\"", "\"PingFang TC\"", "\"Noto Sans CJK TC\"", "\"Noto Sans TC\"" })
                Assert.Contains(font, stack);
        }
        Assert.Matches(@"body \{ font-family: [^;]*""Microsoft JhengHei""[^;]*, sans-serif;", page);
        Assert.Matches(@"pre, code, \.nb-prompt \{ font-family: [^;]*""Noto Sans CJK TC""", page);
    }

    [Fact]
    public void An_error_output_is_shown_as_an_error()
    {
        var error = new JsonObject { ["output_type"] = "error", ["ename"] = "Error", ["evalue"] = "boom <here>", ["traceback"] = new JsonArray("boom <here>") };
        var page = Page(Code("throw new Exception(\"boom\");", error));
        Assert.Contains($"class=\"nb-output {NotebookHtml.ErrorClass}\"", page);
        Assert.Contains("boom &lt;here&gt;", page);
    }
}

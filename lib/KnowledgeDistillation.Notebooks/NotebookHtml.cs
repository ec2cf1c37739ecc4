using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Markdig;
using Markdig.Extensions.Mathematics;
using Markdig.Renderers;
using Markdig.Renderers.Html;

namespace KnowledgeDistillation.Notebooks;

/// <summary>
/// Renders an executed notebook (nbformat 4 JSON) as one self-contained HTML page: markdown with math, code, text
/// outputs, tables and interactive Plotly charts. With plotly.js given, the page carries it and the charts work
/// offline. Math is typeset by KaTeX, which the page carries too (embedded in this assembly, with its fonts), so it
/// needs no network either.
/// </summary>
public static partial class NotebookHtml
{
    /// <summary>The KaTeX version the pages carry (ThirdParty/katex, from <c>npm pack katex@0.16.47</c>).</summary>
    public const string KatexVersion = "0.16.47";

    /// <summary>The CSS class of an error output; a page without it ran without errors.</summary>
    public const string ErrorClass = "nb-error";

    static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder()
        .UsePipeTables()
        .UseMathematics()
        .Use<DisplayMathInParagraphs>()
        .UseEmphasisExtras()
        .UseAutoLinks()
        .UseTaskLists()
        .Build();

    /// <summary>
    /// The page for <paramref name="notebookJson"/>. <paramref name="plotlyJs"/> is plotly.js's source; when given,
    /// it is embedded once and the charts' outputs, which ask require.js for plotly from a CDN, get it from the page
    /// instead. Without it the charts' own CDN loading is left as it is (online only).
    /// When the markdown has math (<c>$…$</c>, <c>$$…$$</c>), KaTeX's script and CSS, with its woff2 fonts as
    /// <c>data:</c> URIs, are embedded once (about 0.65 MB) and typeset it when the page loads; TeX that KaTeX cannot
    /// parse stays readable: its source, in red (or left as it is when its braces do not balance). A page without
    /// math carries no KaTeX.
    /// The page's <c>&lt;html lang&gt;</c> is <paramref name="edition"/>'s (<c>zh-Hant-TW</c> for the Traditional
    /// Chinese notebooks; English when null), and every page's font stack names Chinese fonts for Windows, macOS and
    /// Linux (<see cref="FontFamily"/>). The page's title is the notebook's first <c># </c> heading, as plain text (what a
    /// browser tab and a bookmark show), or <paramref name="title"/> when it has none.
    /// </summary>
    public static string Render(string notebookJson, string title, string? plotlyJs, NotebookEdition? edition = null)
    {
        var notebook = JsonNode.Parse(notebookJson)?.AsObject() ?? throw new InvalidDataException("The notebook is not a JSON object.");
        var body = new StringBuilder();
        int cellNumber = 0;
        bool hasCharts = false, hasMath = false;
        foreach (var cell in notebook["cells"]?.AsArray() ?? [])
        {
            cellNumber++;
            if (cell is null) continue;
            string type = cell["cell_type"]?.GetValue<string>() ?? "";
            string source = Text(cell["source"]);
            if (type == "markdown")
            {
                body.Append("<section class=\"nb-markdown\">").Append(LinkSiblingPages(MarkdownToHtml(source, ref hasMath))).AppendLine("</section>");
                continue;
            }
            if (type != "code") continue;
            string count = cell["execution_count"] is JsonValue v && v.TryGetValue<int>(out int n) ? n.ToString() : " ";
            body.Append("<section class=\"nb-code\" id=\"cell-").Append(cellNumber).AppendLine("\">");
            body.Append("<div class=\"nb-prompt\">[").Append(count).Append("]</div><pre class=\"nb-source\"><code class=\"language-csharp\">")
                .Append(WebUtility.HtmlEncode(source)).AppendLine("</code></pre>");
            foreach (var output in cell["outputs"]?.AsArray() ?? [])
            {
                if (output is null) continue;
                body.AppendLine(Output(output.AsObject(), ref hasCharts, ref hasMath));
            }
            body.AppendLine("</section>");
        }

        var page = new StringBuilder();
        page.AppendLine("<!DOCTYPE html>")
            .Append("<html lang=\"").Append((edition ?? NotebookEditions.English).HtmlLanguage).AppendLine("\"><head><meta charset=\"utf-8\">")
            .Append("<title>").Append(EscapeText(PageTitle(notebook) ?? title)).AppendLine("</title>")
            .Append("<style>").Append(Css).AppendLine("</style>");
        // KaTeX comes first in <head>: before any chart output can load require.js (when plotly.js is not given),
        // so it registers as window.katex rather than as an AMD module.
        if (hasMath) page.Append(Katex.Value);
        if (hasCharts && plotlyJs is not null)
        {
            // plotly.js registers itself as window.Plotly when no AMD loader is present; then a stand-in for
            // require.js hands it to the charts' scripts, which would otherwise fetch require.js and plotly.js.
            page.Append("<script>").Append(plotlyJs.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase)).AppendLine("</script>");
            page.AppendLine("<script>window.requirejs = function (deps, done) { done(window.Plotly); }; " +
                            "window.requirejs.config = function () { return window.requirejs; };</script>");
        }
        page.AppendLine("</head><body><main>").Append(body).AppendLine("</main></body></html>");
        return page.ToString();
    }

    static string Output(JsonObject output, ref bool hasCharts, ref bool hasMath)
    {
        switch (output["output_type"]?.GetValue<string>())
        {
            case "stream":
                string name = output["name"]?.GetValue<string>() == "stderr" ? "stderr" : "stdout";
                return $"<pre class=\"nb-output nb-{name}\">{WebUtility.HtmlEncode(Text(output["text"]))}</pre>";
            case "error":
                string message = $"{Text(output["ename"])}: {Text(output["evalue"])}";
                string trace = string.Join("\n", (output["traceback"]?.AsArray() ?? []).Select(Text));
                return $"<pre class=\"nb-output {ErrorClass}\">{WebUtility.HtmlEncode(trace.Length > 0 && !trace.Contains(message) ? message + "\n" + trace : trace.Length > 0 ? trace : message)}</pre>";
            case "display_data" or "execute_result":
                var data = output["data"]?.AsObject();
                if (data is null) return "";
                if (data["text/html"] is { } html)
                {
                    string h = Text(html);
                    if (NotebookCharts.IsPlotlyChart(h)) hasCharts = true;
                    return $"<div class=\"nb-output nb-html\">{h}</div>";
                }
                foreach (var image in new[] { "image/png", "image/jpeg" })
                    if (data[image] is { } img)
                        return $"<div class=\"nb-output\"><img src=\"data:{image};base64,{Text(img).Trim()}\" alt=\"output\"></div>";
                if (data["image/svg+xml"] is { } svg) return $"<div class=\"nb-output\">{Text(svg)}</div>";
                if (data["text/markdown"] is { } md) return $"<div class=\"nb-output\">{MarkdownToHtml(Text(md), ref hasMath)}</div>";
                if (data["text/plain"] is { } plain) return $"<pre class=\"nb-output\">{WebUtility.HtmlEncode(Text(plain))}</pre>";
                return "";
            default:
                return "";
        }
    }

    /// <summary>Markdig writes math as <c>&lt;span class="math"&gt;\(…\)&lt;/span&gt;</c> (inline) and
    /// <c>&lt;div class="math"&gt;\[…\]&lt;/div&gt;</c> (a <c>$$</c> block on lines of its own); a <c>$$…$$</c> inside
    /// a paragraph becomes <c>&lt;span class="math"&gt;\[…\]&lt;/span&gt;</c> (<see cref="DisplayMathInParagraphs"/>).
    /// KaTeX typesets those elements and nothing else.</summary>
    static string MarkdownToHtml(string markdown, ref bool hasMath)
    {
        string html = Markdig.Markdown.ToHtml(markdown, Markdown);
        if (html.Contains("class=\"math\"", StringComparison.Ordinal)) hasMath = true;
        return html;
    }

    /// <summary>KaTeX's CSS, fonts, script and auto-render, and the call that typesets the page's math elements once
    /// the page has loaded. Only the <c>.math</c> elements: auto-render on the whole body would also read code and
    /// outputs, where <c>\(</c> or <c>\[</c> are not math. Built once, from this assembly's resources.</summary>
    static readonly Lazy<string> Katex = new(() =>
    {
        var head = new StringBuilder();
        head.Append("<style>").Append(KatexCss()).AppendLine("</style>");
        foreach (var script in new[] { "katex.min.js", "auto-render.min.js" })
            head.Append("<script>").Append(Encoding.UTF8.GetString(KatexResource(script)).Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase)).AppendLine("</script>");
        head.AppendLine("""
            <script>document.addEventListener("DOMContentLoaded", function () {
              var options = { delimiters: [{ left: "\\(", right: "\\)", display: false }, { left: "\\[", right: "\\]", display: true }], throwOnError: false };
              document.querySelectorAll(".math").forEach(function (element) { renderMathInElement(element, options); });
            });</script>
            """);
        return head.ToString();
    });

    /// <summary>katex.min.css with each font's woff2 file as a <c>data:</c> URI and its woff and ttf fallbacks
    /// dropped (every browser that runs KaTeX reads woff2). Throws if the CSS still points to a file.</summary>
    static string KatexCss()
    {
        string css = KatexFontSource().Replace(Encoding.UTF8.GetString(KatexResource("katex.min.css")),
            m => $"url(data:font/woff2;base64,{Convert.ToBase64String(KatexResource(m.Groups[1].Value + ".woff2"))}) format(\"woff2\")");
        var left = Regex.Match(css, @"url\((?!data:)[^)]*\)");
        if (left.Success) throw new InvalidDataException($"katex.min.css refers to {left.Value}, which the page does not carry.");
        return css;
    }

    static byte[] KatexResource(string name)
    {
        using var stream = typeof(NotebookHtml).Assembly.GetManifestResourceStream("katex/" + name)
                           ?? throw new InvalidOperationException($"The resource katex/{name} is missing from {typeof(NotebookHtml).Assembly.GetName().Name}.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>One font's sources in katex.min.css: <c>url(fonts/X.woff2) format("woff2"),url(fonts/X.woff)
    /// format("woff"),url(fonts/X.ttf) format("truetype")</c>; group 1 is X.</summary>
    [GeneratedRegex("""url\(fonts/([A-Za-z0-9_-]+)\.woff2\) format\("woff2"\)(?:,url\(fonts/[A-Za-z0-9_-]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\))*""")]
    private static partial Regex KatexFontSource();

    /// <summary>
    /// Markdig writes <c>$$…$$</c> inside a paragraph (as the notebooks write their equations, on one line) as inline
    /// math, <c>\(…\)</c>. Jupyter and VS Code show it as display math, centred on its own line, and so does the page:
    /// this extension writes it as <c>\[…\]</c>. <c>$…$</c> stays inline.
    /// </summary>
    sealed class DisplayMathInParagraphs : IMarkdownExtension
    {
        public void Setup(MarkdownPipelineBuilder pipeline) { }

        public void Setup(MarkdownPipeline pipeline, IMarkdownRenderer renderer)
        {
            if (renderer is not HtmlRenderer html || html.ObjectRenderers.Contains<Renderer>()) return;
            if (!html.ObjectRenderers.Replace<HtmlMathInlineRenderer>(new Renderer()))
                throw new InvalidOperationException("UseMathematics() must come before DisplayMathInParagraphs.");
        }

        sealed class Renderer : HtmlObjectRenderer<MathInline>
        {
            protected override void Write(HtmlRenderer renderer, MathInline math)
            {
                bool display = math.DelimiterCount >= 2;
                if (renderer.EnableHtmlForInline) renderer.Write("<span").WriteAttributes(math).Write(display ? ">\\[" : ">\\(");
                if (renderer.EnableHtmlEscape) renderer.WriteEscape(ref math.Content);
                else renderer.Write(ref math.Content);
                if (renderer.EnableHtmlForInline) renderer.Write(display ? "\\]</span>" : "\\)</span>");
            }
        }
    }

    /// <summary>nbformat stores text as a string or as a list of lines.</summary>
    internal static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>() ?? "")),
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    /// <summary>Links between notebooks (<c>01-x.ipynb</c>) point to their pages, which lie side by side.</summary>
    static string LinkSiblingPages(string html) => SiblingNotebook().Replace(html, m => $"href=\"{m.Groups[1].Value}.html{m.Groups[2].Value}\"");

    [GeneratedRegex("href=\"([A-Za-z0-9_.-]+)\\.ipynb(#[^\"]*)?\"")]
    private static partial Regex SiblingNotebook();

    /// <summary>
    /// The pages' font stack: the system's interface font, then a Traditional Chinese font on each system (Microsoft
    /// JhengHei on Windows, PingFang TC on macOS, Noto Sans CJK TC or Noto Sans TC on Linux, as fonts-noto-cjk and
    /// Google Fonts name it), so that Chinese text is drawn in a Chinese font wherever the page is opened.
    /// </summary>
    public const string FontFamily = $"""system-ui, -apple-system, "Segoe UI", {ChineseFonts}, sans-serif""";

    /// <summary>The font stack of code and text outputs: the system's monospace font, then the same Chinese fonts as
    /// <see cref="FontFamily"/>, for the glyphs a monospace font lacks (a check's verdict in Chinese, say).</summary>
    public const string MonospaceFontFamily = $"""ui-monospace, "Cascadia Mono", Consolas, Menlo, "DejaVu Sans Mono", monospace, {ChineseFonts}""";

    const string ChineseFonts = "\"Microsoft JhengHei\", \"PingFang TC\", \"Noto Sans CJK TC\", \"Noto Sans TC\"";

    const string Css = $$"""
        body { font-family: {{FontFamily}}; line-height: 1.5; margin: 0; background: #fafafa; color: #1b1b1b; }
        main { max-width: 1100px; margin: 0 auto; padding: 1.5rem; background: #fff; }
        pre, code, .nb-prompt { font-family: {{MonospaceFontFamily}}; }
        pre { overflow-x: auto; padding: 0.6rem; border-radius: 4px; font-size: 0.85rem; }
        .nb-code { margin: 1rem 0; }
        .nb-prompt { color: #888; font-size: 0.8rem; }
        .nb-source { background: #f3f5f7; border-left: 3px solid #4a7ab5; margin: 0.2rem 0; }
        .nb-output { margin: 0.2rem 0 0.2rem 0.6rem; }
        pre.nb-output { background: #fff; border: 1px solid #eee; }
        .nb-stderr { color: #8a5a00; }
        .nb-error { background: #fdecea; color: #8b1a1a; border: 1px solid #f5c2c0; }
        .nb-html table { border-collapse: collapse; font-size: 0.85rem; }
        .nb-html th, .nb-html td, .nb-markdown th, .nb-markdown td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; }
        .nb-markdown table { border-collapse: collapse; }
        .math { overflow-x: auto; }
        """;

    /// <summary>The file name of the contents page that <see cref="WriteIndex"/> writes beside the notebooks' pages.</summary>
    public const string IndexFileName = "index.html";

    /// <summary>
    /// A contents page for the notebook pages in <paramref name="folder"/> (each <c>NN-topic.html</c> but the index
    /// itself, in name order): a list of links, each named by its page's title (the notebook's heading, see
    /// <see cref="Render"/>), for a class handed a folder of pages. The page is in <paramref name="edition"/>'s language
    /// (its <c>&lt;html lang&gt;</c> and its heading, <see cref="NotebookEdition.NotebooksTitle"/>), with the same fonts
    /// as the notebook pages.
    /// </summary>
    public static string Index(string folder, NotebookEdition? edition = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        edition ??= NotebookEditions.English;
        string heading = edition.NotebooksTitle;
        var items = new StringBuilder();
        foreach (var page in Directory.GetFiles(folder, "*.html").Where(f => Path.GetFileName(f) != IndexFileName).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(page);
            var title = Regex.Match(File.ReadAllText(page), "<title>(?<t>[^<]*)</title>");
            items.Append("<li><a href=\"").Append(WebUtility.UrlEncode(name).Replace("+", "%20")).Append("\">")
                .Append(title.Success ? title.Groups["t"].Value : EscapeText(Path.GetFileNameWithoutExtension(name))).AppendLine("</a></li>");
        }
        return new StringBuilder()
            .AppendLine("<!DOCTYPE html>")
            .Append("<html lang=\"").Append(edition.HtmlLanguage).AppendLine("\"><head><meta charset=\"utf-8\">")
            .Append("<title>").Append(heading).AppendLine("</title>")
            .Append("<style>").Append(Css).AppendLine("</style></head><body><main>")
            .Append("<h1>").Append(heading).AppendLine("</h1>")
            .Append("<ol class=\"nb-index\">").Append(items).AppendLine("</ol>")
            .AppendLine("</main></body></html>")
            .ToString();
    }

    /// <summary>Writes <see cref="Index"/> of <paramref name="folder"/> to <see cref="IndexFileName"/> there; returns its path.</summary>
    public static string WriteIndex(string folder, NotebookEdition? edition = null)
    {
        string path = Path.Combine(folder, IndexFileName);
        File.WriteAllText(path, Index(folder, edition));
        return path;
    }

    /// <summary>Text for an HTML element: &amp;, &lt; and &gt; escaped, everything else as it is (WebUtility.HtmlEncode
    /// would also write · and é as numeric references).</summary>
    static string EscapeText(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    /// <summary>The first level-1 heading (<c># </c>) of the notebook's markdown, as plain text (emphasis, code marks and
    /// link targets dropped), or null when there is none.</summary>
    static string? PageTitle(JsonObject notebook)
    {
        foreach (var cell in notebook["cells"]?.AsArray() ?? [])
        {
            if (cell?["cell_type"]?.GetValue<string>() != "markdown") continue;
            foreach (var line in Text(cell["source"]).Replace("\r\n", "\n").Split('\n'))
                if (line.StartsWith("# ", StringComparison.Ordinal))
                {
                    string plain = Regex.Replace(line[2..], @"\[([^\]]*)\]\([^)]*\)", "$1");
                    plain = plain.Replace("**", "").Replace("`", "").Trim();
                    return plain.Length > 0 ? plain : null;
                }
        }
        return null;
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Markdig;

namespace KnowledgeDistillation.Notebooks;

/// <summary>
/// Renders an executed notebook (nbformat 4 JSON) as one self-contained HTML page: markdown with math, code, text
/// outputs, tables and interactive Plotly charts. With plotly.js given, the page carries it and the charts work
/// offline; math is typeset by MathJax from a CDN when online and shows as its TeX source otherwise.
/// </summary>
public static partial class NotebookHtml
{
    /// <summary>The MathJax 3 bundle the page loads for math. Offline the page still reads: the TeX stays as text.</summary>
    public const string MathJaxUrl = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js";

    /// <summary>The CSS class of an error output; a page without it ran without errors.</summary>
    public const string ErrorClass = "nb-error";

    static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder()
        .UsePipeTables()
        .UseMathematics()
        .UseEmphasisExtras()
        .UseAutoLinks()
        .UseTaskLists()
        .Build();

    /// <summary>
    /// The page for <paramref name="notebookJson"/>. <paramref name="plotlyJs"/> is plotly.js's source; when given,
    /// it is embedded once and the charts' outputs, which ask require.js for plotly from a CDN, get it from the page
    /// instead. Without it the charts' own CDN loading is left as it is (online only).
    /// </summary>
    public static string Render(string notebookJson, string title, string? plotlyJs)
    {
        var notebook = JsonNode.Parse(notebookJson)?.AsObject() ?? throw new InvalidDataException("The notebook is not a JSON object.");
        var body = new StringBuilder();
        int cellNumber = 0;
        bool hasCharts = false;
        foreach (var cell in notebook["cells"]?.AsArray() ?? [])
        {
            cellNumber++;
            if (cell is null) continue;
            string type = cell["cell_type"]?.GetValue<string>() ?? "";
            string source = Text(cell["source"]);
            if (type == "markdown")
            {
                body.Append("<section class=\"nb-markdown\">").Append(LinkSiblingPages(Markdig.Markdown.ToHtml(source, Markdown))).AppendLine("</section>");
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
                body.AppendLine(Output(output.AsObject(), ref hasCharts));
            }
            body.AppendLine("</section>");
        }

        var page = new StringBuilder();
        page.AppendLine("<!DOCTYPE html>")
            .AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<title>").Append(WebUtility.HtmlEncode(title)).AppendLine("</title>")
            .Append("<style>").Append(Css).AppendLine("</style>")
            .Append("<script>window.MathJax = { tex: { inlineMath: [['\\\\(', '\\\\)']], displayMath: [['\\\\[', '\\\\]']] } };</script>")
            .Append("<script async src=\"").Append(MathJaxUrl).AppendLine("\"></script>");
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

    static string Output(JsonObject output, ref bool hasCharts)
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
                    if (h.Contains("Plotly.newPlot", StringComparison.Ordinal)) hasCharts = true;
                    return $"<div class=\"nb-output nb-html\">{h}</div>";
                }
                foreach (var image in new[] { "image/png", "image/jpeg" })
                    if (data[image] is { } img)
                        return $"<div class=\"nb-output\"><img src=\"data:{image};base64,{Text(img).Trim()}\" alt=\"output\"></div>";
                if (data["image/svg+xml"] is { } svg) return $"<div class=\"nb-output\">{Text(svg)}</div>";
                if (data["text/markdown"] is { } md) return $"<div class=\"nb-output\">{Markdig.Markdown.ToHtml(Text(md), Markdown)}</div>";
                if (data["text/plain"] is { } plain) return $"<pre class=\"nb-output\">{WebUtility.HtmlEncode(Text(plain))}</pre>";
                return "";
            default:
                return "";
        }
    }

    /// <summary>nbformat stores text as a string or as a list of lines.</summary>
    static string Text(JsonNode? node) => node switch
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

    const string Css = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.5; margin: 0; background: #fafafa; color: #1b1b1b; }
        main { max-width: 1100px; margin: 0 auto; padding: 1.5rem; background: #fff; }
        pre { overflow-x: auto; padding: 0.6rem; border-radius: 4px; font-size: 0.85rem; }
        .nb-code { margin: 1rem 0; }
        .nb-prompt { color: #888; font-family: monospace; font-size: 0.8rem; }
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
}

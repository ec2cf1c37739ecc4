using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KnowledgeDistillation.Notebooks;

/// <summary>
/// Makes the Plotly.NET charts in an executed notebook show in Jupyter viewers that run no .NET. A chart's output is
/// <c>text/html</c> whose script loads require.js and plotly.js from CDNs and then calls <c>Plotly.newPlot</c>; many
/// viewers do not run output scripts. Next to it this adds the figure itself as <c>application/vnd.plotly.v1+json</c>
/// (<c>{"data": [...], "layout": {...}, "config": {...}}</c>), which JupyterLab, VS Code's Jupyter renderers, nteract
/// and Colab draw with their own plotly.js.
/// </summary>
public static partial class NotebookCharts
{
    /// <summary>The MIME type of a Plotly figure in a notebook output.</summary>
    public const string PlotlyMimeType = "application/vnd.plotly.v1+json";

    /// <summary>The JSON layout of executed notebooks (as Jupyter and NotebookRunner write them): one-space indents,
    /// and non-ASCII text and <c>&lt;</c>, <c>&gt;</c>, <c>&amp;</c> written as they are.</summary>
    static readonly JsonSerializerOptions Layout = new() { WriteIndented = true, IndentSize = 1, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly JsonSerializerOptions OneLine = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Whether an output's HTML is a Plotly.NET chart (it draws with <c>Plotly.newPlot</c>).</summary>
    internal static bool IsPlotlyChart(string html) => html.Contains("Plotly.newPlot", StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="notebookJson"/> (nbformat 4) with an <see cref="PlotlyMimeType"/> entry added to every output whose
    /// <c>text/html</c> is a Plotly.NET chart whose data, layout and config parse as JSON, and which has no such entry
    /// yet. Everything else is left as it is; the text/html stays, for viewers that run scripts. When nothing is added,
    /// the input is returned unchanged; otherwise it is written in the layout of executed notebooks (one-space indents,
    /// text unescaped), ending with a newline if the input did. Calling it again changes nothing.
    /// </summary>
    public static string AddPlotlyFigures(string notebookJson)
    {
        var notebook = JsonNode.Parse(notebookJson) as JsonObject ?? throw new InvalidDataException("The notebook is not a JSON object.");
        var figures = new List<JsonObject>();
        foreach (var cell in notebook["cells"] as JsonArray ?? [])
        {
            if (cell is not JsonObject c || c["outputs"] is not JsonArray outputs) continue;
            foreach (var output in outputs)
            {
                if (output is not JsonObject o || o["data"] is not JsonObject data || data.ContainsKey(PlotlyMimeType)) continue;
                if (data["text/html"] is not { } html || Figure(NotebookHtml.Text(html)) is not { } figure) continue;
                // A placeholder now, the figure on one line below: indented, a heatmap's numbers take a line each.
                data[PlotlyMimeType] = Placeholder(figures.Count);
                figures.Add(figure);
            }
        }
        if (figures.Count == 0) return notebookJson;
        string json = notebook.ToJsonString(Layout);
        for (int i = 0; i < figures.Count; i++)
            json = json.Replace(JsonSerializer.Serialize(Placeholder(i)), figures[i].ToJsonString(OneLine), StringComparison.Ordinal);
        return notebookJson.EndsWith('\n') ? json + "\n" : json;
    }

    static string Placeholder(int index) => $"@@kd-plotly-figure-{index}@@";

    /// <summary>
    /// The figure a Plotly.NET chart's HTML draws, or null. Plotly.NET 6 writes the script as
    /// <c>var data = [...]; var layout = {...}; var config = {...}; Plotly.newPlot(id, data, layout, config);</c>
    /// with each value as JSON. Each value is read with a JSON reader, from its <c>var x =</c> to the value's end, and
    /// the next is looked for after it, so text in the chart (titles, labels) cannot cut a value short or pass for the
    /// script. Null unless <c>data</c> is a JSON array of traces and <c>layout</c> a JSON object, or when a second
    /// <c>var data</c> follows (two charts in one output); <c>config</c> is added when it is a JSON object.
    /// </summary>
    static JsonObject? Figure(string html)
    {
        if (!IsPlotlyChart(html)) return null;
        int at = 0;
        if (Value(html, "data", ref at) is not JsonArray data || data.Any(trace => trace is not JsonObject)) return null;
        if (Value(html, "layout", ref at) is not JsonObject layout) return null;
        var figure = new JsonObject { ["data"] = data, ["layout"] = layout };
        int afterLayout = at;
        if (Value(html, "config", ref at) is JsonObject config) figure["config"] = config;
        else at = afterLayout;
        return Find(html, "data", at) is null ? figure : null;
    }

    /// <summary>The JSON value of the first <c>var <paramref name="name"/> = …</c> at or after <paramref name="at"/>,
    /// which then moves past the value; null when there is none or it is not JSON (a JavaScript expression, say).</summary>
    static JsonNode? Value(string html, string name, ref int at)
    {
        if (Find(html, name, at) is not { } assignment) return null;
        int start = assignment.Index + assignment.Length;
        byte[] rest = Encoding.UTF8.GetBytes(html[start..]);
        try
        {
            var reader = new Utf8JsonReader(rest);
            if (!reader.Read()) return null;
            reader.Skip(); // to the end of the value; the reader stops there and never reads the script after it
            int length = checked((int)reader.BytesConsumed);
            var value = JsonNode.Parse(rest.AsSpan(0, length));
            at = start + Encoding.UTF8.GetCharCount(rest, 0, length);
            return value;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static Match? Find(string html, string name, int at)
    {
        for (var m = Assignment().Match(html, at); m.Success; m = m.NextMatch())
            if (m.Groups[1].Value == name) return m;
        return null;
    }

    [GeneratedRegex(@"\bvar\s+(data|layout|config)\s*=\s*")]
    private static partial Regex Assignment();
}

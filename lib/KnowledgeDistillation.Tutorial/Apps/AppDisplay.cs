using System.Net;
using System.Text;
using Microsoft.Data.Analysis;
using Microsoft.FSharp.Core;
using Plotly.NET;

namespace KnowledgeDistillation.Apps;

/// <summary>
/// The notebook's <c>display(...)</c> for a notebook exported as a .NET 10 file-based app (<c>kd notebooks export</c>):
/// text goes to the console; charts and tables go to HTML files in the app's output folder, and the console names them.
/// Exported apps say <c>using static KnowledgeDistillation.Apps.AppDisplay;</c>, so the notebook's code reads unchanged.
/// </summary>
/// <remarks>
/// The output folder is <c>NN-topic.output/</c> next to the app's .cs file (or the folder in <c>KD_APP_OUTPUT</c>). Charts
/// load plotly.js from a copy written once into that folder, so the pages work offline.
/// </remarks>
public static class AppDisplay
{
    /// <summary>Overrides the output folder.</summary>
    public const string OutputVariable = "KD_APP_OUTPUT";

    const string PlotlyFile = "plotly.min.js";
    static readonly Lock Gate = new();
    static int count;
    static string? folder;

    /// <summary>The folder HTML outputs are written to, created on first use.</summary>
    public static string OutputDirectory
    {
        get
        {
            lock (Gate)
            {
                if (folder is not null) return folder;
                folder = Environment.GetEnvironmentVariable(OutputVariable) is { Length: > 0 } configured
                    ? Path.GetFullPath(configured)
                    : AppContext.GetData("EntryPointFilePath") is string entry
                        ? Path.Combine(Path.GetDirectoryName(entry)!, Path.GetFileNameWithoutExtension(entry) + ".output")
                        : Path.Combine(Directory.GetCurrentDirectory(), "app.output");
                Directory.CreateDirectory(folder);
                return folder;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="relativeToApp"/> (a path relative to the app's .cs file) the current folder: the notebook
    /// ran in its own folder, and relative paths in its code, and finding the repository's data, depend on that.
    /// </summary>
    public static void UseNotebookFolder(string relativeToApp)
    {
        ArgumentNullException.ThrowIfNull(relativeToApp);
        string baseFolder = AppContext.GetData("EntryPointFileDirectoryPath") as string ?? Directory.GetCurrentDirectory();
        string target = Path.GetFullPath(Path.Combine(baseFolder, relativeToApp));
        if (!Directory.Exists(target))
            throw new DirectoryNotFoundException($"The notebook's folder {target} does not exist; export the app again (kd notebooks export).");
        _ = OutputDirectory; // relative to the app, before the current folder changes
        Directory.SetCurrentDirectory(target);
    }

    /// <summary>Shows <paramref name="value"/>, as the notebook's <c>display</c> does; the result can be updated later.</summary>
    /// <param name="value">Text, a Plotly chart, a DataFrame, or any object (shown with ToString).</param>
    /// <param name="mimeTypes">As in the notebook: <c>"text/html"</c> makes a string an HTML output.</param>
    public static DisplayedOutput display(object? value, params string[] mimeTypes)
    {
        int number = Interlocked.Increment(ref count);
        var output = new DisplayedOutput(number, mimeTypes.Contains("text/html"));
        output.Update(value);
        return output;
    }

    /// <summary>One displayed value; <see cref="Update"/> replaces it, as in the notebook.</summary>
    public sealed class DisplayedOutput
    {
        readonly int number;
        readonly bool html;
        readonly HashSet<string> announced = [];

        internal DisplayedOutput(int number, bool html)
        {
            this.number = number;
            this.html = html;
        }

        /// <summary>Replaces the displayed value: prints text again, or rewrites the HTML file.</summary>
        public void Update(object? value)
        {
            switch (value)
            {
                case GenericChart chart:
                    Write("chart", ChartPage(chart));
                    break;
                case DataFrame frame:
                    Console.Write(Text(frame));
                    Write("table", Page($"Output {number}", Table(frame)));
                    break;
                case string text when html && text.Contains('<'):
                    Write("html", Page($"Output {number}", text));
                    break;
                default:
                    Console.WriteLine(value?.ToString() ?? "<null>");
                    break;
            }
        }

        void Write(string kind, string page)
        {
            string path = Path.Combine(OutputDirectory, $"{number:D2}-{kind}.html");
            File.WriteAllText(path, page);
            if (announced.Add(path)) Console.WriteLine($"[{kind}] {path}");
        }
    }

    static string ChartPage(GenericChart chart)
    {
        string script = Path.Combine(OutputDirectory, PlotlyFile);
        lock (Gate)
        {
            if (!File.Exists(script)) File.WriteAllText(script, PlotlyJs.Source);
        }
        var options = DisplayOptions.init(null, null, null, null, null, null, FSharpOption<PlotlyJSReference>.Some(PlotlyJSReference.NewCDN(PlotlyFile)));
        return GenericChart.toEmbeddedHTML(Plotly.NET.Chart.withDisplayOptions(options).Invoke(chart));
    }

    static string Page(string title, string body) =>
        $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title>" +
        "<style>body{font-family:system-ui,sans-serif} table{border-collapse:collapse} th,td{border:1px solid #ddd;padding:2px 8px}</style>" +
        $"</head><body>{body}</body></html>";

    /// <summary>A plain-text table of every row of <paramref name="frame"/>, columns padded to their widest cell.</summary>
    public static string Text(DataFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var rows = new List<string[]> { frame.Columns.Select(c => c.Name).ToArray() };
        foreach (var row in frame.Rows) rows.Add(row.Select(Cell).ToArray());
        var widths = Enumerable.Range(0, frame.Columns.Count).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var r in rows) text.AppendLine(string.Join("  ", r.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        return text.ToString();
    }

    static string Cell(object? value) => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";

    /// <summary>An HTML table of every row of <paramref name="frame"/>, its cells HTML-escaped.</summary>
    public static string Table(DataFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var html = new StringBuilder("<table><thead><tr>");
        foreach (var column in frame.Columns) html.Append("<th>").Append(WebUtility.HtmlEncode(column.Name)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        foreach (var row in frame.Rows)
        {
            html.Append("<tr>");
            foreach (var cell in row) html.Append("<td>").Append(WebUtility.HtmlEncode(Cell(cell))).Append("</td>");
            html.Append("</tr>");
        }
        return html.Append("</tbody></table>").ToString();
    }
}

/// <summary>plotly.js as Plotly.NET ships it (an embedded resource), for pages that must work offline.</summary>
public static class PlotlyJs
{
    static readonly Lazy<string> Cached = new(Load);

    /// <summary>plotly.min.js's source (MIT licence, bundled by Plotly.NET).</summary>
    public static string Source => Cached.Value;

    static string Load()
    {
        var assembly = typeof(GenericChart).Assembly;
        string name = assembly.GetManifestResourceNames().SingleOrDefault(n => n.EndsWith(".min.js", StringComparison.Ordinal) && n.Contains("plotly", StringComparison.OrdinalIgnoreCase))
                      ?? throw new InvalidOperationException($"{assembly.GetName().Name} carries no plotly.min.js resource.");
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

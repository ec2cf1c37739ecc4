using Microsoft.FSharp.Core;
using Plotly.NET;

namespace KnowledgeDistillation.Charts;

/// <summary>Small C# conveniences over Plotly.NET's F# chart functions (F# optional arguments are null when absent).</summary>
public static class ChartExtensions
{
    /// <summary>Sets the chart's title.</summary>
    public static GenericChart WithTitleText(this GenericChart chart, string title) =>
        Plotly.NET.Chart.withTitle(Title.init(FSharpOption<string>.Some(title), null, null, null, null, null, null, null, null, null, null, null)).Invoke(chart);
}

/// <summary>Writes charts to files that open anywhere, offline included.</summary>
public static class ChartFiles
{
    /// <summary>
    /// A complete HTML page for <paramref name="chart"/>. With <paramref name="embedPlotlyJs"/> (the default) the page
    /// carries plotly.js itself (about 3.6 MB) and works without internet, as in a classroom; otherwise it loads
    /// plotly.js from a CDN.
    /// </summary>
    public static string ToHtml(GenericChart chart, bool embedPlotlyJs = true)
    {
        ArgumentNullException.ThrowIfNull(chart);
        var reference = embedPlotlyJs ? PlotlyJSReference.Full : PlotlyJSReference.NewCDN("https://cdn.plot.ly/plotly-2.28.0.min.js");
        var options = DisplayOptions.init(null, null, null, null, null, null, FSharpOption<PlotlyJSReference>.Some(reference));
        return GenericChart.toEmbeddedHTML(Plotly.NET.Chart.withDisplayOptions(options).Invoke(chart));
    }

    /// <summary>Saves <see cref="ToHtml"/>'s page to <paramref name="path"/>, creating its folder.</summary>
    public static void SaveHtml(GenericChart chart, string path, bool embedPlotlyJs = true)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, ToHtml(chart, embedPlotlyJs));
    }
}

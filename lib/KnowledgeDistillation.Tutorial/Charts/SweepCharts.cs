using System.Globalization;
using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Training;
using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>A line with an error band: mean ± standard deviation at each x (for example accuracy over seeds).</summary>
/// <param name="Name">The legend name.</param>
/// <param name="X">The x values.</param>
/// <param name="Y">The mean and standard deviation at each x; a NaN standard deviation draws no band there.</param>
public sealed record MeanStdSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<MeanStd> Y);

/// <summary>Charts of parameter sweeps: heatmaps of two-parameter grids and lines with error bands.</summary>
public static class SweepCharts
{
    static readonly string[] Palette = ["31,119,180", "255,127,14", "44,160,44", "214,39,40", "148,103,189", "140,86,75"];

    /// <summary>
    /// A heatmap of <paramref name="grid"/> with each cell's value written in it, rows labelled "T = 4" and columns
    /// "alpha = 0.5" (the grid's parameter names). Cells not measured yet stay empty and read "…".
    /// </summary>
    /// <param name="grid">The sweep's values.</param>
    /// <param name="title">The chart's title.</param>
    /// <param name="format">How each cell's value is written, for example "P1" for percentages.</param>
    public static GenericChart Heatmap(GridResult grid, string title, string format = "G4")
    {
        ArgumentNullException.ThrowIfNull(grid);
        int rows = grid.Rows.Count, columns = grid.Columns.Count;
        var z = Enumerable.Range(0, rows).Select(i => Enumerable.Range(0, columns).Select(j => grid.Values[i, j]).ToArray()).ToArray();
        var text = z.Select(row => row.Select(v => double.IsNaN(v) ? "…" : v.ToString(format, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var x = grid.Columns.Select(c => $"{grid.ColumnName} = {c.ToString(CultureInfo.InvariantCulture)}").ToArray();
        var y = grid.Rows.Select(r => $"{grid.RowName} = {r.ToString(CultureInfo.InvariantCulture)}").ToArray();
        return CSharpChart.AnnotatedHeatmap<double, string, string, string>(
                zData: z, annotationText: text, X: x, Y: y, ReverseYAxis: true, ColorScale: StyleParam.Colorscale.Viridis,
                Opacity: 0.65) // lighter colours, so that the black values stay readable on the dark cells
            .WithXAxisStyle<string, string, string>(TitleText: grid.ColumnName)
            .WithYAxisStyle<string, string, string>(TitleText: grid.RowName)
            .WithTitleText(title);
    }

    /// <summary>One line per series, each with a shaded band of ± one standard deviation.</summary>
    /// <param name="series">The series, drawn in order.</param>
    /// <param name="xTitle">The x axis's title.</param>
    /// <param name="yTitle">The y axis's title.</param>
    /// <param name="title">The chart's title.</param>
    /// <param name="logX">Draw x on a logarithmic axis (for sizes such as 500, 1,000, 5,000, 60,000).</param>
    public static GenericChart MeanStdLines(IReadOnlyList<MeanStdSeries> series, string xTitle, string yTitle, string title, bool logX = false)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("No series to plot.", nameof(series));
        var traces = new List<GenericChart>();
        for (int k = 0; k < series.Count; k++)
        {
            var s = series[k];
            if (s.X.Count != s.Y.Count)
                throw new ArgumentException($"Series '{s.Name}' has {s.X.Count} x values but {s.Y.Count} y values.", nameof(series));
            string rgb = Palette[k % Palette.Length];
            var x = s.X.ToArray();
            var upper = s.Y.Select(v => double.IsNaN(v.Std) ? v.Mean : v.Mean + v.Std).ToArray();
            var lower = s.Y.Select(v => double.IsNaN(v.Std) ? v.Mean : v.Mean - v.Std).ToArray();
            // The band: an invisible upper edge, then the lower edge filled up to it; neither has a legend entry.
            traces.Add(CSharpChart.Line<double, double, string>(x, upper, Name: $"{s.Name} + std", ShowLegend: false, LineWidth: 0,
                LineColor: Color.fromString($"rgba({rgb},0)")));
            traces.Add(CSharpChart.Line<double, double, string>(x, lower, Name: $"{s.Name} − std", ShowLegend: false, LineWidth: 0,
                LineColor: Color.fromString($"rgba({rgb},0)"), Fill: StyleParam.Fill.ToNext_y, FillColor: Color.fromString($"rgba({rgb},0.2)")));
            traces.Add(CSharpChart.Line<double, double, string>(x, s.Y.Select(v => v.Mean).ToArray(), ShowMarkers: true, Name: s.Name,
                LineColor: Color.fromString($"rgb({rgb})"), MarkerColor: Color.fromString($"rgb({rgb})")));
        }
        return CSharpChart.Combine(traces)
            .WithXAxisStyle<double, double, double>(TitleText: xTitle, AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
            .WithYAxisStyle<double, double, double>(TitleText: yTitle)
            .WithTitleText(title);
    }
}

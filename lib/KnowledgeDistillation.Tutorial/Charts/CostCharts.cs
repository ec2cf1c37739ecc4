using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Training;
using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>One model in an accuracy-versus-cost plot.</summary>
/// <param name="Name">The model's label, shown next to its marker.</param>
/// <param name="Group">The series it belongs to (for example "teacher", "from scratch", "KD"); one colour per group.</param>
/// <param name="Cost">Its cost (parameters, FLOPs, milliseconds): lower is better.</param>
/// <param name="Score">Its score (test accuracy): higher is better.</param>
public sealed record CostPoint(string Name, string Group, double Cost, double Score);

/// <summary>Charts of what a model costs: reliability diagrams and accuracy-versus-cost Pareto plots.</summary>
public static class CostCharts
{
    static readonly string[] Palette = ["127,127,127", "214,39,40", "31,119,180", "44,160,44", "255,127,14", "148,103,189"];

    /// <summary>
    /// Reliability diagrams side by side, one panel per model: for each confidence bin with predictions, a bar at the
    /// bin's mean confidence as high as the bin's accuracy, and the diagonal of perfect calibration. Bars below the
    /// diagonal are over-confident bins. Each panel's title carries the model's ECE.
    /// </summary>
    /// <param name="models">Names and reliability data, one panel each, in order.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">No models.</exception>
    public static GenericChart ReliabilityDiagrams(IReadOnlyList<(string Name, ReliabilityData Data)> models, string title = "Reliability diagrams")
    {
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0) throw new ArgumentException("No models to plot.", nameof(models));
        var panels = new List<GenericChart>();
        for (int k = 0; k < models.Count; k++)
        {
            var (name, data) = models[k];
            var used = data.Bins.Where(b => b.Count > 0).ToList();
            var bars = CSharpChart.Column<double, double, string>(
                values: used.Select(b => Math.Round(b.Accuracy, 4)).ToArray(), Keys: used.Select(b => Math.Round(b.MeanConfidence, 4)).ToArray(),
                Name: $"{name}: accuracy per bin", ShowLegend: false, MarkerColor: Color.fromString($"rgb({Palette[(k + 1) % Palette.Length]})"),
                MultiText: used.Select(b => $"n = {b.Count:N0}").ToArray());
            var diagonal = CSharpChart.Line<double, double, string>([0.0, 1.0], [0.0, 1.0], Name: "perfect calibration", ShowLegend: false,
                LineColor: Color.fromString("rgb(90,90,90)"), LineDash: StyleParam.DrawingStyle.Dash);
            panels.Add(CSharpChart.Combine([bars, diagonal])
                .WithXAxisStyle<double, double, string>(TitleText: "confidence", MinMax: new Tuple<double, double>(0, 1))
                .WithYAxisStyle<double, double, string>(TitleText: "accuracy", MinMax: new Tuple<double, double>(0, 1)));
        }
        var titles = models.Select(m => $"{m.Name}: ECE {m.Data.Ece:F4}").ToArray();
        return CSharpChart.Grid(panels, 1, models.Count, SubPlotTitles: titles)
            .WithSize(Width: 330 * models.Count + 80, Height: 420)
            .WithTitleText(title);
    }

    /// <summary>
    /// Score against cost, one marker colour per group, each marker labelled with its name, and the Pareto front (the
    /// points no other point beats on both axes, <see cref="ParetoFront"/>) joined by a dashed staircase.
    /// </summary>
    /// <param name="points">The models.</param>
    /// <param name="costTitle">The x axis's title.</param>
    /// <param name="scoreTitle">The y axis's title.</param>
    /// <param name="title">The chart's title.</param>
    /// <param name="logX">A logarithmic cost axis (parameter counts span orders of magnitude).</param>
    /// <exception cref="ArgumentException">No points, or a cost that is not positive on a log axis.</exception>
    public static GenericChart Pareto(IReadOnlyList<CostPoint> points, string costTitle, string scoreTitle, string title, bool logX = true)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0) throw new ArgumentException("No points to plot.", nameof(points));
        if (logX && points.Any(p => !(p.Cost > 0)))
            throw new ArgumentException("A logarithmic axis needs positive costs.", nameof(points));
        var traces = new List<GenericChart>();
        var groups = points.Select(p => p.Group).Distinct().ToList();
        for (int g = 0; g < groups.Count; g++)
        {
            var members = points.Where(p => p.Group == groups[g]).ToList();
            traces.Add(CSharpChart.Point<double, double, string>(
                members.Select(p => p.Cost).ToArray(), members.Select(p => p.Score).ToArray(), Name: groups[g],
                MarkerColor: Color.fromString($"rgb({Palette[g % Palette.Length]})"),
                MultiText: members.Select(p => p.Name).ToArray(), TextPosition: StyleParam.TextPosition.TopCenter));
        }
        var front = ParetoFront.Indices(points.Select(p => p.Cost).ToList(), points.Select(p => p.Score).ToList()).Select(i => points[i]).ToList();
        // The staircase: from each front point across to the next one's cost, then up to its score.
        var stairX = new List<double>();
        var stairY = new List<double>();
        for (int i = 0; i < front.Count; i++)
        {
            if (i > 0)
            {
                stairX.Add(front[i].Cost);
                stairY.Add(front[i - 1].Score);
            }
            stairX.Add(front[i].Cost);
            stairY.Add(front[i].Score);
        }
        traces.Add(CSharpChart.Line<double, double, string>(stairX, stairY, Name: "Pareto front",
            LineColor: Color.fromString("rgb(60,60,60)"), LineDash: StyleParam.DrawingStyle.Dash));
        return CSharpChart.Combine(traces)
            .WithXAxisStyle<double, double, double>(TitleText: costTitle, AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
            .WithYAxisStyle<double, double, double>(TitleText: scoreTitle)
            .WithSize(Width: 900, Height: 480)
            .WithTitleText(title);
    }
}

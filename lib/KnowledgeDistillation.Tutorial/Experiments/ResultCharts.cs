using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Training;
using Microsoft.FSharp.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Experiments;

/// <summary>Plotly charts of experiment results.</summary>
public static class ResultCharts
{
    /// <summary>
    /// Test accuracy per method as bars with ± one (sample) standard deviation as error bars, one panel per regime
    /// (regimes differ by several points, so each gets its own axis); the teacher is grey, the scratch student red.
    /// </summary>
    /// <param name="summaries">Summaries, as <see cref="Reproduction.Summarise"/> returns them.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">No summaries.</exception>
    public static GenericChart AccuracyBars(IReadOnlyList<ReproductionSummary> summaries, string title = "Test accuracy, mean ± std over seeds")
    {
        ArgumentNullException.ThrowIfNull(summaries);
        if (summaries.Count == 0) throw new ArgumentException("Nothing to plot.", nameof(summaries));
        var regimes = summaries.Select(s => s.Regime).Distinct().ToList();
        var titles = regimes.Select(regime =>
        {
            var students = summaries.Where(s => s.Regime == regime && s.Method != Reproduction.Teacher).ToList();
            return students.Count > 0 ? $"{regime}: students trained on {students[0].Images:N0} images" : regime;
        }).ToArray();
        var panels = new List<GenericChart>();
        foreach (var regime in regimes)
        {
            var rows = summaries.Where(s => s.Regime == regime).ToList();
            var methods = rows.Select(r => r.Method).ToArray();
            // Percentages to 2 decimals (what a hover shows); the values themselves are in results.md and results.csv.
            var means = rows.Select(r => Math.Round(100 * r.MeanAccuracy, 2)).ToArray();
            var errors = rows.Select(r => double.IsNaN(r.StdAccuracy) ? 0 : Math.Round(100 * r.StdAccuracy, 2)).ToArray();
            var colors = rows.Select(r => r.Method switch
            {
                Reproduction.Teacher => Color.fromString("#7f7f7f"),
                Reproduction.Scratch => Color.fromString("#d62728"),
                _ => Color.fromString("#1f77b4"),
            }).ToArray();
            var bars = CSharpChart.Column<double, string, string>(
                values: means, Keys: methods, Name: regime, ShowLegend: false,
                MarkerColor: Color.fromColors(colors));
            bars = Plotly.NET.Chart.withYErrorStyle<double, double>(
                FSharpOption<bool>.Some(true), FSharpOption<StyleParam.ErrorType>.Some(StyleParam.ErrorType.Data),
                FSharpOption<bool>.Some(true), FSharpOption<IEnumerable<double>>.Some(errors), null, null, null, null, null, null, null, null, null)
                .Invoke(bars);
            // Zoom the axis on the bars: from a little below the lowest (mean − std) to a little above the highest.
            double low = means.Zip(errors, (m, e) => m - e).Min(), high = means.Zip(errors, (m, e) => m + e).Max();
            double pad = Math.Max(1, (high - low) * 0.15);
            bars = bars.WithYAxisStyle<double, double, string>(TitleText: "test accuracy (%)",
                MinMax: new Tuple<double, double>(Math.Max(0, low - pad), Math.Min(100, high + pad)));
            panels.Add(bars);
        }
        return CSharpChart.Grid(panels, regimes.Count, 1, SubPlotTitles: titles)
            .WithSize(Width: 900, Height: 380 * regimes.Count + 80)
            .WithTitleText(title);
    }

    /// <summary>
    /// The share of the teacher–student gap that distillation closed, one horizontal bar per result: this project's
    /// measurements in orange, quoted results in blue, so that nobody mistakes one for the other. 100% means the
    /// student reached the teacher; below 0 the method made the student worse than training it alone.
    /// </summary>
    /// <param name="points">The results (<see cref="ReferenceResults.GapPoints(IReadOnlyList{PublishedResult})"/> and
    /// <see cref="ReferenceResults.GapPoints(ReproductionReport, string, IReadOnlyCollection{string})"/>), drawn top to bottom in this order.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">No points, or none with a finite share.</exception>
    public static GenericChart GapClosed(IReadOnlyList<GapPoint> points, string title = "Share of the teacher–student gap closed by distillation")
    {
        ArgumentNullException.ThrowIfNull(points);
        var shown = points.Where(p => double.IsFinite(p.GapClosed)).ToList();
        if (shown.Count == 0) throw new ArgumentException("Nothing to plot: no point has a finite share of the gap.", nameof(points));
        var bars = new List<GenericChart>();
        foreach (var measured in new[] { true, false })
        {
            var group = shown.Where(p => p.Measured == measured).ToList();
            if (group.Count == 0) continue;
            // Plotly draws the first category at the bottom of a horizontal bar chart; reverse so the list reads top down.
            bars.Add(CSharpChart.Bar<double, string, string>(
                group.Select(p => Math.Round(100 * p.GapClosed, 1)).ToArray(), Keys: group.Select(p => p.Label).ToArray(),
                Name: measured ? "measured here" : "quoted", MarkerColor: Color.fromString(measured ? "#ff7f0e" : "#1f77b4"),
                MultiText: group.Select(p => $"{p.Gain:+0.00;-0.00} points").ToArray()));
        }
        var order = shown.Select(p => p.Label).Reverse().ToArray();
        return CSharpChart.Combine(bars)
            .WithXAxisStyle<double, double, string>(TitleText: "share of the teacher–student gap closed (%)")
            .WithYAxisStyle<double, double, string>(TitleText: "", CategoryOrder: StyleParam.CategoryOrder.Array, CategoryArray: order)
            .WithSize(Width: 950, Height: 120 + 24 * shown.Count)
            .WithTitleText(title);
    }

    /// <summary>
    /// Each method's difference to the scratch student in this run next to the same method's difference in an earlier
    /// notebook's full run, one panel per regime.
    /// </summary>
    /// <param name="comparisons">From <see cref="ReferenceResults.CompareWithRecorded"/>.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">No comparisons.</exception>
    public static GenericChart DeltaComparison(IReadOnlyList<DeltaComparison> comparisons, string title = "Difference to the student from scratch: this run and the earlier notebooks")
    {
        ArgumentNullException.ThrowIfNull(comparisons);
        if (comparisons.Count == 0) throw new ArgumentException("Nothing to plot.", nameof(comparisons));
        var regimes = comparisons.Select(c => c.Regime).Distinct().ToList();
        var notebooks = comparisons.Select(c => c.Notebook).Distinct().ToList();
        var panels = new List<GenericChart>();
        for (int k = 0; k < regimes.Count; k++)
        {
            var rows = comparisons.Where(c => c.Regime == regimes[k]).ToList();
            var methods = rows.Select(r => r.Method).Distinct().ToArray();
            var traces = new List<GenericChart>
            {
                CSharpChart.Column<double, string, string>(methods.Select(m => Math.Round(rows.First(r => r.Method == m).Delta, 2)).ToArray(),
                    Keys: methods, Name: "this run", ShowLegend: k == 0, MarkerColor: Color.fromString("#ff7f0e")),
            };
            for (int n = 0; n < notebooks.Count; n++)
            {
                var mine = rows.Where(r => r.Notebook == notebooks[n]).ToList();
                if (mine.Count == 0) continue;
                traces.Add(CSharpChart.Column<double, string, string>(mine.Select(r => Math.Round(r.RecordedDelta, 2)).ToArray(),
                    Keys: mine.Select(r => r.Method).ToArray(), Name: $"notebook {notebooks[n]} (recorded)", ShowLegend: k == 0,
                    MarkerColor: Color.fromString($"rgb({Palette[n % Palette.Length]})")));
            }
            panels.Add(CSharpChart.Combine(traces).WithYAxisStyle<double, double, string>(TitleText: "Δ accuracy vs scratch (points)"));
        }
        return CSharpChart.Grid(panels, regimes.Count, 1, SubPlotTitles: regimes.ToArray())
            .WithSize(Width: 900, Height: 340 * regimes.Count + 100)
            .WithTitleText(title);
    }

    /// <summary>Where the time went: each teacher's training and, per teacher, the student runs of each method summed
    /// over regimes and seeds, as horizontal bars in seconds spent now (runs read back from the run cache count 0 and say
    /// so in their label).</summary>
    /// <param name="parts">The finished parts of a <see cref="ReproductionPlan"/>.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">No parts.</exception>
    public static GenericChart TimeByPart(IReadOnlyList<TeacherPart> parts, string title = "Where the time went (wall seconds)")
    {
        static string Label(TimeRow r) => $"{r.Teacher}: {r.What}" + (r.Reused == 0 ? "" : r.Reused == r.Runs ? " (reused)" : $" ({r.Reused} of {r.Runs} reused)");
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Nothing to plot.", nameof(parts));
        var rows = ReproductionPlan.TimeRows(parts);
        var traces = parts.Select((part, k) =>
        {
            var mine = rows.Where(r => r.Teacher == part.Teacher.Model).ToList();
            return CSharpChart.Bar<double, string, string>(mine.Select(r => Math.Round(r.Seconds, 1)).ToArray(),
                Keys: mine.Select(Label).ToArray(), Name: part.Name,
                MarkerColor: Color.fromString($"rgb({Palette[k % Palette.Length]})"));
        }).ToList();
        var order = rows.Select(Label).Reverse().ToArray();
        return CSharpChart.Combine(traces)
            .WithXAxisStyle<double, double, string>(TitleText: "seconds")
            .WithYAxisStyle<double, double, string>(TitleText: "", CategoryOrder: StyleParam.CategoryOrder.Array, CategoryArray: order)
            .WithSize(Width: 900, Height: 120 + 22 * rows.Count)
            .WithTitleText(title);
    }

    static readonly string[] Palette = ["31,119,180", "44,160,44", "148,103,189", "140,86,75", "227,119,194", "127,127,127"];
}


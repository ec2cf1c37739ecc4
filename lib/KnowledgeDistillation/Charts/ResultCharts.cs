using KnowledgeDistillation.Training;
using Microsoft.FSharp.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

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
}

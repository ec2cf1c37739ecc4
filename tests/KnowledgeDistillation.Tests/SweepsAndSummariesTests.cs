using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Training;
using Plotly.NET;

namespace KnowledgeDistillation.Tests;

/// <summary>Seed summaries (mean ± sample std), parameter grids and their charts.</summary>
public class SweepsAndSummariesTests
{
    [Fact]
    public void Mean_and_sample_std_match_hand_computed_values()
    {
        var s = MeanStd.Of([1.0, 2.0, 6.0]);
        Assert.Equal(3.0, s.Mean, 12);
        Assert.Equal(Math.Sqrt(7.0), s.Std, 12); // ((1-3)² + (2-3)² + (6-3)²) / (3 - 1) = 7
        Assert.Equal(3, s.Count);
        Assert.Equal("3.00 ± 2.65", s.Format("F2"));
        var one = MeanStd.Of([0.5]);
        Assert.True(double.IsNaN(one.Std));
        Assert.Equal("0.50", one.Format("F2"));
        Assert.Throws<ArgumentException>(() => MeanStd.Of([]));
    }

    [Fact]
    public void Seed_table_has_one_row_per_run_in_first_seen_order()
    {
        SeedResult[] results =
        [
            new("teacher", 0, 0.92, 10_000),
            new("scratch", 0, 0.860, 10_000), new("KD", 0, 0.870, 10_000),
            new("scratch", 1, 0.862, 10_000), new("KD", 1, 0.871, 10_000),
            new("scratch", 2, 0.858, 10_000), new("KD", 2, 0.875, 10_000),
        ];
        var table = SeedSummary.Table(results);
        Assert.Equal(["run", "seeds", "accuracy %", "± std", "test errors", "errors ± std", "test images"], table.Columns.Select(c => c.Name));
        Assert.Equal(["teacher", "scratch", "KD"], Enumerable.Range(0, 3).Select(i => (string)table["run"][i]));
        Assert.Equal(1, table["seeds"][0]);
        Assert.Equal(3, table["seeds"][1]);
        Assert.Equal(86.0, (double)table["accuracy %"][1], 9);
        Assert.Equal(0.2, (double)table["± std"][1], 9);
        Assert.Equal(1400.0, (double)table["test errors"][1], 9);
        Assert.Equal(20.0, (double)table["errors ± std"][1], 9);
        Assert.True(double.IsNaN((double)table["± std"][0]));
        Assert.Equal(800.0, results[0].Errors);

        var kd = SeedSummary.Summarize(results).Single(r => r.Run == "KD");
        Assert.Equal(87.2, kd.AccuracyPercent.Mean, 9);
        Assert.Equal(10_000, kd.TestCount);
    }

    [Fact]
    public void Seeds_tested_on_different_sets_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => SeedSummary.Summarize([new("a", 0, 0.9, 10_000), new("a", 1, 0.9, 2_000)]));
        Assert.Contains("different sizes", e.Message);
    }

    [Fact]
    public void Grid_runs_every_point_row_by_row_and_reports_progress()
    {
        var calls = new List<(double, double)>();
        var partial = new List<int>();
        var grid = ParameterGrid.Run("T", [1, 4], "alpha", [0.5, 0.9, 1.0], (T, a) => { calls.Add((T, a)); return T * 10 + a; }, "score",
            g => partial.Add(Enumerable.Range(0, 2).Sum(i => Enumerable.Range(0, 3).Count(j => !double.IsNaN(g.Values[i, j])))));
        Assert.Equal([(1, 0.5), (1, 0.9), (1, 1.0), (4, 0.5), (4, 0.9), (4, 1.0)], calls);
        Assert.Equal([1, 2, 3, 4, 5, 6], partial);
        Assert.Equal(40.9, grid.At(4, 0.9), 12);
        Assert.Equal((4.0, 1.0, 41.0), grid.Best());
        var table = grid.ToDataFrame();
        Assert.Equal(["T", "alpha", "score"], table.Columns.Select(c => c.Name));
        Assert.Equal(6, table.Rows.Count);
        Assert.Throws<ArgumentException>(() => grid.At(2, 0.5));
        Assert.Throws<ArgumentException>(() => ParameterGrid.Run("T", [1, 1], "alpha", [0.5], (_, _) => 0));
        Assert.Throws<ArgumentException>(() => ParameterGrid.Run("T", [], "alpha", [0.5], (_, _) => 0));
    }

    [Fact]
    public void Grid_heatmap_writes_values_and_marks_missing_cells()
    {
        var values = new double[,] { { 0.861, double.NaN }, { 0.873, 0.869 } };
        var html = ChartFiles.ToHtml(SweepCharts.Heatmap(new GridResult("T", [1, 4], "alpha", [0.5, 0.9], "acc", values), "sweep", "P1"), embedPlotlyJs: false);
        Assert.Contains("87.3", html);
        Assert.Contains("T = 4", html);
        Assert.Contains("alpha = 0.9", html);
        Assert.Contains("…", html);
    }

    [Fact]
    public void Mean_std_lines_draw_one_band_per_series()
    {
        MeanStdSeries[] series =
        [
            new("scratch", [500, 1000], [MeanStd.Of([70, 72]), MeanStd.Of([75, 76])]),
            new("KD", [500, 1000], [MeanStd.Of([73, 74]), MeanStd.Of([77])]),
        ];
        var chart = SweepCharts.MeanStdLines(series, "labelled images", "accuracy %", "low labels", logX: true);
        var html = ChartFiles.ToHtml(chart, embedPlotlyJs: false);
        Assert.Contains("scratch", html);
        Assert.Contains("\"log\"", html);
        Assert.Contains("tonexty", html); // the ± std band
        Assert.Equal(6, GenericChart.getTraces(chart).Length); // per series: band edges and the mean line
        Assert.DoesNotContain("\"lower\"", html);
        Assert.Throws<ArgumentException>(() => SweepCharts.MeanStdLines([new("bad", [1, 2], [MeanStd.Of([1])])], "x", "y", "t"));
    }

    [Fact]
    public void Divergence_charts_check_their_inputs()
    {
        double[] x = [0, 1, 2];
        var html = ChartFiles.ToHtml(DivergenceCharts.Densities(x, [0.2, 0.6, 0.2], "target p",
            new Dictionary<string, double[]> { ["forward KL fit"] = [0.3, 0.4, 0.3] }, "fits"), embedPlotlyJs: false);
        Assert.Contains("forward KL fit", html);
        Assert.Contains("tozeroy", html);
        Assert.Throws<ArgumentException>(() => DivergenceCharts.Densities(x, [1.0], "p", new Dictionary<string, double[]>(), "t"));
        var bars = DivergenceCharts.Distributions(["a", "b"], new Dictionary<string, double[]> { ["teacher"] = [0.9, 0.1], ["student"] = [0.5, 0.5] }, "p and q");
        Assert.Equal(2, GenericChart.getTraces(bars).Length);
        Assert.Throws<ArgumentException>(() => DivergenceCharts.Distributions(["a"], new Dictionary<string, double[]> { ["teacher"] = [0.9, 0.1] }, "t"));
    }
}

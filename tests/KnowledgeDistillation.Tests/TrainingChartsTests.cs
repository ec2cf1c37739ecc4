using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Training;
using Plotly.NET;

namespace KnowledgeDistillation.Tests;

public class TrainingChartsTests
{
    static EpochRecord Record(int epoch, double acc) => new(epoch, 1e-3, 1.0 / epoch, acc, 0.5, acc, 0.02, 1, 100, new Dictionary<string, double>());

    [Fact]
    public void Learning_curves_have_one_named_line_per_run()
    {
        var runs = new Dictionary<string, IReadOnlyList<EpochRecord>>
        {
            ["scratch"] = [Record(1, 0.80), Record(2, 0.82)],
            ["KD T=4"] = [Record(1, 0.81), Record(2, 0.84)],
        };
        var chart = TrainingCharts.LearningCurves(runs);
        Assert.Equal(2, GenericChart.getTraces(chart).Length);
        var html = ChartFiles.ToHtml(chart, embedPlotlyJs: false);
        Assert.Contains("scratch", html);
        Assert.Contains("KD T=4", html);
        Assert.Contains("test accuracy", html);
        Assert.Throws<ArgumentException>(() => TrainingCharts.LearningCurves(new Dictionary<string, IReadOnlyList<EpochRecord>>()));
    }

    [Fact]
    public void Confusion_heatmap_checks_labels_and_shows_row_percentages()
    {
        var confusion = new long[,] { { 3, 1 }, { 0, 4 } };
        var html = ChartFiles.ToHtml(TrainingCharts.Confusion(confusion, ["a", "b"]), embedPlotlyJs: false);
        Assert.Contains("75", html);   // 3 of 4
        Assert.Contains("25", html);   // 1 of 4
        Assert.Contains("100", html);  // 4 of 4
        var e = Assert.Throws<ArgumentException>(() => TrainingCharts.Heatmap(new double[2, 3], ["a", "b"], ["x", "y"], "t"));
        Assert.Contains("2×3", e.Message);
    }

    [Fact]
    public void Term_curves_draw_one_line_per_term_raw_or_weighted()
    {
        static EpochRecord WithTerms(int epoch, double ce, double hint) =>
            new(epoch, 1e-3, ce + 100 * hint, 0.8, 0.5, 0.8, 0.02, 1, 100, new Dictionary<string, double> { ["ce"] = ce, ["hint"] = hint });
        IReadOnlyList<EpochRecord> history = [WithTerms(1, 0.9, 0.02), WithTerms(2, 0.6, 0.01)];
        Assert.Equal(2, GenericChart.getTraces(TrainingCharts.TermCurves(history)).Length);
        var weighted = ChartFiles.ToHtml(TrainingCharts.TermCurves(history, new Dictionary<string, double> { ["ce"] = 1, ["hint"] = 100 }), embedPlotlyJs: false);
        Assert.Contains("100 × hint", weighted);
        Assert.Contains("2.0", weighted); // 100 × 0.02
        Assert.Contains("'hint'", Assert.Throws<ArgumentException>(() => TrainingCharts.TermCurves(history, new Dictionary<string, double> { ["ce"] = 1 })).Message);
        Assert.Contains("plain training", Assert.Throws<ArgumentException>(() => TrainingCharts.TermCurves([Record(1, 0.8)])).Message);
    }
}

using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Training;
using Plotly.NET;

namespace KnowledgeDistillation.Tests;

public class LiveComparisonViewTests
{
    static EpochRecord Record(int epoch, double acc) => new(epoch, 1e-3, 1.0 / epoch, acc, 0.5, acc, 0.02, 1, 100, new Dictionary<string, double>());

    static TrainingProgress EndOf(int epoch, double acc) => new(epoch, 2, 10, 10, 0.5, TimeSpan.FromSeconds(epoch), Record(epoch, acc));

    [Fact]
    public void Runs_of_a_group_share_one_legend_entry_and_references_are_drawn()
    {
        var shown = new List<object>();
        var live = new LiveComparisonView(shown.Add).AddReference("teacher", 0.9);
        var scratch0 = live.For("scratch, seed 0", "scratch");
        var scratch1 = live.For("scratch, seed 1", "scratch");
        var kd0 = live.For("KD, seed 0", "KD");
        scratch0(EndOf(1, 0.80));
        scratch0(EndOf(2, 0.82));
        scratch1(EndOf(1, 0.79));
        kd0(EndOf(1, 0.83));
        Assert.Equal(4, shown.Count);
        var chart = Assert.IsAssignableFrom<GenericChart>(shown[^1]);
        Assert.Equal(4, GenericChart.getTraces(chart).Length); // three runs and the teacher line
        var html = ChartFiles.ToHtml(chart, embedPlotlyJs: false);
        Assert.Contains("KD, seed 0: epoch 1/2, test accuracy 83.00 %", html);
        Assert.Contains("teacher", html);
        Assert.Equal(2, live.Runs["scratch, seed 0"].Count);
        Assert.Equal(["scratch, seed 0", "scratch, seed 1", "KD, seed 0"], live.Runs.Keys);
        Assert.Throws<ArgumentException>(() => live.For("KD, seed 0", "KD"));
    }

    [Fact]
    public void Reports_within_an_epoch_are_throttled()
    {
        var shown = new List<object>();
        var live = new LiveComparisonView(shown.Add, throttleSeconds: 3600);
        var run = live.For("run");
        run(new TrainingProgress(1, 2, 1, 10, 0.9, TimeSpan.Zero, null));
        run(new TrainingProgress(1, 2, 2, 10, 0.8, TimeSpan.Zero, null));
        Assert.Single(shown);
        run(EndOf(1, 0.7));
        Assert.Equal(2, shown.Count);
    }
}

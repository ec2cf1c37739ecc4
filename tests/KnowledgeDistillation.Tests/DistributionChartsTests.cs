using TorchSharp;
using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Data;
using Plotly.NET;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>The charts of notebooks 01 and 02: traces, labels and the temperature slider's wiring.</summary>
public class DistributionChartsTests
{
    static string Html(GenericChart chart) => ChartFiles.ToHtml(chart, embedPlotlyJs: false);

    [Fact]
    public void Probability_bars_show_hard_and_soft_labels()
    {
        var p = tensor(new[] { 0.7, 0.2, 0.1 });
        var chart = DistributionCharts.Probabilities(p, hardLabel: 1, classNames: ["a", "b", "c"], title: "one image");
        Assert.Equal(2, GenericChart.getTraces(chart).Length);
        var html = Html(chart);
        Assert.Contains("hard label", html);
        Assert.Contains("soft label (teacher)", html);
        Assert.Contains("70.0%", html);
        Assert.Single(GenericChart.getTraces(DistributionCharts.Probabilities(p, classNames: ["a", "b", "c"])));
        Assert.Throws<ArgumentOutOfRangeException>(() => DistributionCharts.Probabilities(p, hardLabel: 3, classNames: ["a", "b", "c"]));
    }

    [Fact]
    public void Soft_label_grid_has_an_image_and_two_bar_traces_per_item()
    {
        using var test = FashionMnist.Load(Split.Test, limit: 20);
        var p = SoftTargetsOf(test.Labels);
        var chart = DistributionCharts.SoftLabels(test.Images, p, test.Labels, [0, 5, 7]);
        Assert.Equal(3 * 3, GenericChart.getTraces(chart).Length);
        var html = Html(chart);
        Assert.Contains($"#5, true: {FashionMnist.ClassNames[(int)test.Labels[5].item<long>()]}", html);
        Assert.Throws<ArgumentOutOfRangeException>(() => DistributionCharts.SoftLabels(test.Images, p, test.Labels, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => DistributionCharts.SoftLabels(test.Images, p, test.Labels, [99]));
        ChartFiles.SaveHtml(chart, Path.Combine(Repo.Root, "artifacts", "charts", "soft-labels.html"));
    }

    static Tensor SoftTargetsOf(Tensor labels) =>
        torch.nn.functional.softmax(torch.nn.functional.one_hot(labels, 10).to_type(ScalarType.Float32).mul(3), 1);

    [Fact]
    public void Temperature_slider_has_one_step_per_temperature_each_showing_one_trace()
    {
        var logits = tensor(new[] { 5.0f, 2, 1, 0, -1, -1, -2, -3, -3, -4 });
        var chart = DistributionCharts.TemperatureSlider(logits);
        Assert.Equal(6, GenericChart.getTraces(chart).Length);
        var html = Html(chart);
        Assert.Contains("\"sliders\"", html);
        Assert.Contains("\"method\":\"restyle\"", html);
        foreach (var label in new[] { "0.5", "1", "2", "5", "10", "20" })
            Assert.Contains($"\"label\":\"{label}\"", html);
        Assert.Contains("\"visible\":[false,false,false,false,false,true]", html);
        Assert.Contains("T = 20 (entropy", html);
        Assert.Throws<ArgumentOutOfRangeException>(() => DistributionCharts.TemperatureSlider(logits, initial: 6));
        ChartFiles.SaveHtml(chart, Path.Combine(Repo.Root, "artifacts", "charts", "temperature-slider.html"));
    }

    [Fact]
    public void Entropy_curves_and_generic_curves()
    {
        var logits = new Dictionary<string, Tensor> { ["peaked"] = tensor(new[] { 9.0, 0, 0 }), ["flat"] = tensor(new[] { 1.0, 0.5, 0 }) };
        var chart = DistributionCharts.EntropyVsTemperature(logits);
        Assert.Equal(3, GenericChart.getTraces(chart).Length); // two curves and the log C line
        Assert.Contains("log 3 = 1.099 (uniform)", Html(chart));

        var curves = DistributionCharts.Curves([1, 10], new Dictionary<string, IReadOnlyList<double>> { ["a"] = [1, 0.01] }, "T", "norm", "scaling", logX: true, logY: true);
        Assert.Contains("\"type\":\"log\"", Html(curves));
        Assert.Throws<ArgumentException>(() => DistributionCharts.Curves([1, 10], new Dictionary<string, IReadOnlyList<double>> { ["a"] = [1] }, "T", "norm", "t"));
    }

    [Fact]
    public void Class_similarity_heatmap_hides_the_diagonal_and_entropy_boxes_have_one_per_class()
    {
        var m = tensor(new double[,] { { 0.9, 0.1 }, { 0.3, 0.7 } });
        var html = Html(DistributionCharts.ClassSimilarity(m, ["a", "b"]));
        Assert.Contains("NaN", html);
        Assert.Contains("30.0", html);
        Assert.DoesNotContain("NaN", Html(DistributionCharts.ClassSimilarity(m, ["a", "b"], hideDiagonal: false)));

        var labels = tensor(new long[] { 0, 1, 1, 0 });
        var boxes = DistributionCharts.EntropyByClass(tensor(new[] { 0.1, 0.5, 0.6, 0.2 }), labels, ["a", "b"]);
        Assert.Equal(2, GenericChart.getTraces(boxes).Length);
        Assert.Throws<ArgumentException>(() => DistributionCharts.EntropyByClass(tensor(new[] { 0.1 }), labels, ["a", "b"]));
        _ = SoftLabelStats.ToMatrix(m);
    }
}

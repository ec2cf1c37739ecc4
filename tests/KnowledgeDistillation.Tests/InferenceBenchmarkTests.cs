using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Performance;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Tables;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Inference costs, reliability data, the Pareto front and their charts (notebook 07).</summary>
public class InferenceBenchmarkTests
{
    [Fact]
    public void Percentiles_interpolate_like_numpy()
    {
        var stats = new LatencyStats([4.0, 1.0, 3.0, 2.0, 100.0]);
        Assert.Equal(3.0, stats.Median);
        Assert.Equal(1.0, stats.Min);
        Assert.Equal(22.0, stats.Mean, 12);
        // numpy.percentile([1, 2, 3, 4, 100], 90) = 4 + 0.6 · 96 = 61.6
        Assert.Equal(61.6, stats.P90, 9);
        Assert.Equal(1.5, new LatencyStats([1.0, 2.0]).Median);
        Assert.Throws<ArgumentOutOfRangeException>(() => stats.Percentile(101));
    }

    [Fact]
    public void Checkpoint_and_weight_bytes_match_the_parameter_count()
    {
        using var tiny = Mlp.TinyStudent();
        long weights = InferenceBenchmark.WeightBytes(tiny);
        Assert.Equal(4 * tiny.ParameterCount(), weights); // float32, no buffers
        long checkpoint = InferenceBenchmark.CheckpointBytes(tiny);
        Assert.InRange(checkpoint, weights, weights + 4096); // the weights plus names and shapes
        using var cnn = SmallCnn.Student();
        // Batch norm's running statistics are buffers: two per channel and a step counter per layer.
        Assert.Equal(4 * cnn.ParameterCount() + 4 * 2 * (8 + 16) + 8 * 2, InferenceBenchmark.WeightBytes(cnn));
    }

    [Fact]
    public void Activation_trace_sees_every_layer_and_skips_views()
    {
        using var cnn = SmallCnn.Student();
        var x = randn(4, 1, 28, 28);
        var trace = InferenceBenchmark.TraceActivations(cnn, x);
        // SmallCnn pools before its ReLU (the same values as the textbook order, see ModelTests).
        Assert.Equal(["conv1", "bn1", "pool1", "relu1", "conv2", "bn2", "pool2", "relu2", "flatten", "fc", "relu3", "dropout", "classifier"],
            trace.Select(r => r.Layer.Split(' ')[0]));
        Assert.Equal([4L, 8, 28, 28], trace[0].Shape);
        Assert.Equal(4 * 8 * 28 * 28 * 4, trace[0].Bytes);
        Assert.Equal(0, trace.Single(r => r.Layer.StartsWith("flatten", StringComparison.Ordinal)).Bytes); // a view
        Assert.Equal(0, trace.Single(r => r.Layer.StartsWith("dropout", StringComparison.Ordinal)).Bytes); // identity in eval
        long expected = 4 * (4 * 784 + 2 * 4 * 8 * 784 + 2 * 4 * 8 * 196 + 2 * 4 * 16 * 196 + 2 * 4 * 16 * 49 + 2 * 4 * 128 + 4 * 10);
        Assert.Equal(expected, InferenceBenchmark.PeakActivationBytes(cnn, x));
        // Hooks are removed afterwards: a second trace sees each layer once.
        Assert.Equal(trace.Count, InferenceBenchmark.TraceActivations(cnn, x).Count);
    }

    [Fact]
    public void Profile_measures_a_small_model()
    {
        using var tiny = Mlp.TinyStudent();
        var images = rand(64, 1, 28, 28);
        var options = new InferenceBenchmarkOptions { LatencyWarmup = 2, LatencyRuns = 10, ThroughputBatch = 32, ThroughputWarmup = 1, ThroughputRuns = 3 };
        var profiles = InferenceBenchmark.Compare([("tiny", tiny)], images, options, rounds: 2);
        var p = Assert.Single(profiles);
        Assert.Equal(25_450, p.Parameters);
        Assert.Equal(tiny.FlopsPerSample(), p.FlopsPerSample);
        Assert.Equal(10, p.Latency.Count);
        Assert.True(p.Latency.Median > 0 && p.ImagesPerSecond > 0);
        Assert.Equal(32, p.ThroughputBatch);
        Assert.True(p.ActivationBytesBatch > p.ActivationBytesBatch1);
        Assert.Equal(10, InferenceBenchmark.ToDataFrame(profiles).Columns.Count);
        Assert.Throws<ArgumentException>(() => InferenceBenchmark.Profile("tiny", tiny, rand(8, 1, 28, 28), options));
    }

    [Fact]
    public void Peak_growth_sees_a_large_allocation()
    {
        if (!OperatingSystem.IsLinux()) return;
        double growth = ProcessMemory.PeakGrowthMegabytes(() =>
        {
            using var big = ones(64L * 1024 * 1024 / 4); // 64 MB, touched
        });
        Assert.InRange(growth, 48, 96);
    }

    [Fact]
    public void Reliability_bins_reproduce_the_evaluator_ece()
    {
        using var generator = new Generator(7);
        var logits = randn(2000, 10, generator: generator).mul(3);
        var labels = randint(0, 10, [2000], generator: generator);
        var evaluation = Evaluator.FromLogits(logits, labels);
        var reliability = Calibration.FromLogits(logits, labels);
        Assert.Equal(Evaluator.CalibrationBins, reliability.Bins.Count);
        Assert.Equal(2000, reliability.Bins.Sum(b => b.Count));
        // The same bins and sums, added in a different order: equal to float64 rounding.
        Assert.Equal(evaluation.Ece, reliability.Ece, 12);
        Assert.Equal(evaluation.Accuracy, reliability.Accuracy, 12);
        Assert.Equal(15, reliability.ToDataFrame().Rows.Count);
    }

    [Fact]
    public void Reliability_puts_a_confidence_of_one_in_the_last_bin_and_edges_in_the_upper_bin()
    {
        var confidence = tensor(new[] { 1.0, 0.5, 0.25, 0.1 }, ScalarType.Float64);
        var correct = tensor(new[] { true, false, true, true });
        var data = Calibration.Reliability(confidence, correct, bins: 4);
        Assert.Equal([1L, 1, 1, 1], data.Bins.Select(b => b.Count));
        Assert.Equal(0.1, data.Bins[0].MeanConfidence, 12);
        Assert.Equal(0.0, data.Bins[2].Accuracy);
        Assert.Equal(-0.5, data.Bins[2].Gap, 12);
        Assert.Equal(Evaluator.ExpectedCalibrationError(confidence, correct, 4), data.Ece, 12);
        Assert.Equal(0.9, data.Mce, 12);
        var empty = Calibration.Reliability(tensor(new[] { 0.95 }, ScalarType.Float64), tensor(new[] { true }), bins: 10);
        Assert.True(double.IsNaN(empty.Bins[0].Accuracy));
        Assert.Equal(0.05, empty.Ece, 12);
        Assert.Throws<ArgumentException>(() => Calibration.Reliability(confidence, tensor(new[] { true }), 4));
    }

    [Fact]
    public void Pareto_front_keeps_the_points_nothing_beats()
    {
        double[] costs = [1, 2, 3, 4, 2, 5];
        double[] scores = [0.80, 0.85, 0.84, 0.90, 0.85, 0.90];
        // 3 is beaten by 2 (cheaper, better); 6 by 4 (cheaper, equal); the two equal points 2 and 5 both stay.
        Assert.Equal([0, 1, 4, 3], ParetoFront.Indices(costs, scores));
        Assert.True(ParetoFront.Dominates(1, 0.9, 2, 0.9));
        Assert.False(ParetoFront.Dominates(1, 0.9, 1, 0.9));
        Assert.Throws<ArgumentException>(() => ParetoFront.Indices([1.0], [0.5, 0.6]));
        Assert.Throws<ArgumentException>(() => ParetoFront.Indices([double.NaN], [0.5]));
    }

    [Fact]
    public void Cost_charts_draw_every_model_and_the_front()
    {
        var points = new List<CostPoint> { new("teacher", "teacher", 1e6, 0.93), new("tiny, KD", "KD", 2.5e4, 0.84), new("tiny", "scratch", 2.5e4, 0.83), new("cnn", "scratch", 1e5, 0.80) };
        var pareto = CostCharts.Pareto(points, "parameters", "accuracy", "accuracy vs size");
        var html = ChartFiles.ToHtml(pareto, embedPlotlyJs: false);
        foreach (var name in new[] { "teacher", "tiny, KD", "Pareto front" }) Assert.Contains(name, html);
        Assert.Equal(4, Plotly.NET.GenericChart.getTraces(pareto).Length); // three groups and the front
        Assert.Throws<ArgumentException>(() => CostCharts.Pareto([new("x", "g", 0, 0.5)], "c", "s", "t"));

        using var generator = new Generator(3);
        var logits = randn(300, 10, generator: generator);
        var labels = randint(0, 10, [300], generator: generator);
        var data = Calibration.FromLogits(logits, labels);
        var diagrams = CostCharts.ReliabilityDiagrams([("teacher", data), ("student", data)]);
        Assert.Contains($"teacher: ECE {data.Ece:F4}", ChartFiles.ToHtml(diagrams, embedPlotlyJs: false));
        Assert.Equal(4, Plotly.NET.GenericChart.getTraces(diagrams).Length);
    }
}

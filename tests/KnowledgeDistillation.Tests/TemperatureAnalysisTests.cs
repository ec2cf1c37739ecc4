using TorchSharp;
using KnowledgeDistillation.Analysis;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>The temperature analyses: limits, the 1/T² law, the high-temperature limit and calibration.</summary>
public class TemperatureAnalysisTests
{
    static readonly Tensor Z = tensor(new double[] { 4.0, 1.0, 0.5, -2.0 });

    [Fact]
    public void Log_space_runs_between_its_bounds()
    {
        var t = TemperatureAnalysis.LogSpace(0.1, 100, 4);
        Assert.Equal([0.1, 1, 10, 100], t.Select(v => Math.Round(v, 10)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureAnalysis.LogSpace(0, 1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => TemperatureAnalysis.LogSpace(1, 2, 1));
    }

    [Fact]
    public void Entropy_goes_from_zero_at_low_T_to_log_C_at_high_T_and_rises_in_between()
    {
        var h = TemperatureAnalysis.Entropies(Z, [0.01, 0.5, 1, 2, 5, 1e4]);
        Assert.Equal(0.0, h[0], 1e-10);
        Assert.Equal(Math.Log(4), h[^1], 1e-6);
        for (int i = 1; i < h.Length; i++) Assert.True(h[i] > h[i - 1], $"entropy should rise with T: {string.Join(", ", h)}");
    }

    [Fact]
    public void Probability_table_has_one_column_per_temperature_in_percent()
    {
        var table = TemperatureAnalysis.ProbabilityTable(Z, [1, 1e6], ["a", "b", "c", "d"]);
        Assert.Equal(["class", "T = 1", "T = 1E+06"], table.Columns.Select(c => c.Name));
        double sum = Enumerable.Range(0, 4).Sum(i => (double)table["T = 1"][i]!);
        Assert.Equal(100, sum, 0.05);
        Assert.Equal(25.0, (double)table["T = 1E+06"][3]!, 0.01);
        Assert.Throws<ArgumentException>(() => TemperatureAnalysis.ProbabilityTable(Z.unsqueeze(0)));
    }

    [Fact]
    public void Unscaled_soft_gradient_shrinks_like_one_over_T_squared_and_the_scaled_one_does_not()
    {
        manual_seed(3);
        var student = randn(8, 10, dtype: ScalarType.Float64);
        var teacher = randn(8, 10, dtype: ScalarType.Float64).mul(3);
        var T = new[] { 10.0, 20, 50, 100 };
        var raw = T.Select(t => TemperatureAnalysis.SoftLossGradient(student, teacher, t, timesTSquared: false).norm().item<double>()).ToArray();
        var scaled = T.Select(t => TemperatureAnalysis.SoftLossGradient(student, teacher, t).norm().item<double>()).ToArray();
        Assert.Equal(-2.0, TemperatureAnalysis.LogLogSlope(T, raw), 0.05);
        Assert.Equal(0.0, TemperatureAnalysis.LogLogSlope(T, scaled), 0.05);
        Assert.Null(student.grad); // the input is not touched
    }

    [Fact]
    public void Log_log_slope_of_a_power_law_is_its_exponent()
    {
        double[] x = [1, 2, 4, 8];
        Assert.Equal(-2.0, TemperatureAnalysis.LogLogSlope(x, x.Select(v => 3 / (v * v)).ToArray()), 1e-12);
        Assert.Throws<ArgumentException>(() => TemperatureAnalysis.LogLogSlope([1, 2], [1, 0]));
        Assert.Throws<ArgumentException>(() => TemperatureAnalysis.LogLogSlope([1], [1]));
    }

    [Fact]
    public void High_temperature_limit_gaps_shrink_towards_logit_matching()
    {
        manual_seed(4);
        var student = randn(4, 10, dtype: ScalarType.Float64);
        var teacher = randn(4, 10, dtype: ScalarType.Float64).mul(2);
        var table = TemperatureAnalysis.HighTemperatureLimit(student, teacher, [1, 10, 100, 1000]);
        var valueGap = Enumerable.Range(0, 4).Select(i => (double)table["value gap"][i]!).ToArray();
        var gradientGap = Enumerable.Range(0, 4).Select(i => (double)table["gradient gap"][i]!).ToArray();
        for (int i = 1; i < 4; i++)
        {
            Assert.True(valueGap[i] < valueGap[i - 1], string.Join(", ", valueGap));
            Assert.True(gradientGap[i] < gradientGap[i - 1], string.Join(", ", gradientGap));
        }
        Assert.True(valueGap[^1] < 1e-2 && gradientGap[^1] < 1e-2, $"at T = 1000: {valueGap[^1]}, {gradientGap[^1]}");
    }

    [Fact]
    public void Temperature_at_inference_keeps_accuracy_but_changes_confidence()
    {
        manual_seed(5);
        var labels = randint(0, 10, [200]);
        var logits = randn(200, 10).add(torch.nn.functional.one_hot(labels, 10).mul(4));
        var table = TemperatureAnalysis.CalibrationByTemperature(logits, labels, [1, 4]);
        Assert.Equal((double)table["accuracy %"][0]!, (double)table["accuracy %"][1]!);
        Assert.True((double)table["mean confidence %"][1]! < (double)table["mean confidence %"][0]!);
    }
}

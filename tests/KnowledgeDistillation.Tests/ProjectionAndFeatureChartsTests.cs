using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Charts;
using Plotly.NET;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

public class ProjectionAndFeatureChartsTests
{
    [Fact]
    public void Pca_finds_the_direction_of_largest_variance_and_its_share()
    {
        // Points spread along (3, 4)/5 with a small orthogonal spread: the first component is ±(0.6, 0.8).
        using var generator = new Generator(5);
        var t = randn(200, 1, dtype: ScalarType.Float64, generator: generator).mul(10);
        var noise = randn(200, 1, dtype: ScalarType.Float64, generator: generator).mul(0.5);
        var x = t.mul(tensor(new[] { 0.6, 0.8 }, dtype: ScalarType.Float64)).add(noise.mul(tensor(new[] { -0.8, 0.6 }, dtype: ScalarType.Float64))).add(7);
        using var pca = Projection.Pca(x, 2);
        Assert.True(pca.Components[0].allclose(tensor(new[] { 0.6, 0.8 }, dtype: ScalarType.Float64), 0, 0.01), string.Join(", ", pca.Components[0].data<double>().ToArray()));
        // Orthonormal directions; the points are the centred data in that basis; the shares are the variances' shares.
        Assert.True(pca.Components.matmul(pca.Components.t()).allclose(eye(2, dtype: ScalarType.Float64), 0, 1e-10));
        var centred = x.sub(x.mean([0], keepdim: true));
        Assert.True(pca.Points.allclose(centred.matmul(pca.Components.t()), 0, 1e-9));
        var variances = pca.Points.var(0);
        Assert.True(pca.ExplainedVariance.allclose(variances.div(centred.var(0).sum()), 0, 1e-10));
        Assert.True(pca.ExplainedVariance[0].item<double>() > 0.99);
        Assert.Equal(1.0, pca.ExplainedVariance.sum().item<double>(), 10);
    }

    [Fact]
    public void Pca_signs_are_fixed_and_bad_input_is_explained()
    {
        using var generator = new Generator(6);
        var x = randn(50, 5, dtype: ScalarType.Float64, generator: generator);
        using var a = Projection.Pca(x, 3);
        using var b = Projection.Pca(x.neg(), 3);
        Assert.True(a.Components.allclose(b.Components, 0, 1e-10)); // mirrored data, same directions by convention
        Assert.True(a.Points.allclose(b.Points.neg(), 0, 1e-9));
        Assert.Contains("Flatten", Assert.Throws<ArgumentException>(() => Projection.Pca(randn(4, 2, 3), 2)).Message);
        Assert.Contains("min(N, D) = 5", Assert.Throws<ArgumentOutOfRangeException>(() => Projection.Pca(x, 6)).Message);
    }

    [Fact]
    public void Map_grid_has_the_image_and_one_heatmap_per_column_for_each_row()
    {
        var images = randn(3, 1, 28, 28);
        var maps = new List<(string, Tensor)> { ("teacher", rand(3, 49)), ("student", rand(3, 7, 7)) };
        var chart = FeatureCharts.MapGrid(images, maps, ["a", "b", "c"], "maps");
        Assert.Equal(9, GenericChart.getTraces(chart).Length);
        var html = ChartFiles.ToHtml(chart, embedPlotlyJs: false);
        Assert.Contains("teacher", html);
        Assert.Contains("\"b\"", html);
        Assert.Contains("square", Assert.Throws<ArgumentException>(() => FeatureCharts.MapGrid(images, [("bad", rand(3, 48))])).Message);
        Assert.Contains("3 images but 2 row titles", Assert.Throws<ArgumentException>(() => FeatureCharts.MapGrid(images, maps, ["a", "b"])).Message);
    }

    [Fact]
    public void Matrix_panels_share_one_canvas_and_check_sizes()
    {
        var chart = FeatureCharts.MatrixPanels([("teacher", rand(10, 10)), ("student", rand(10, 10).mul(5))], "distances");
        Assert.Single(GenericChart.getTraces(chart));
        Assert.Contains("teacher · student", ChartFiles.ToHtml(chart, embedPlotlyJs: false));
        Assert.Contains("'b' is [10, 9]", Assert.Throws<ArgumentException>(() => FeatureCharts.MatrixPanels([("a", rand(10, 10)), ("b", rand(10, 9))], "t")).Message);
    }

    [Fact]
    public void Embedding_panels_colour_each_class_once_per_panel()
    {
        var labels = tensor(new long[] { 0, 1, 1, 2, 0, 2 });
        var chart = FeatureCharts.Embeddings2D([("teacher", randn(6, 2)), ("student", randn(6, 2))], labels, ["x", "y", "z"]);
        Assert.Equal(6, GenericChart.getTraces(chart).Length);
        Assert.Contains("[6, 2]", Assert.Throws<ArgumentException>(() => FeatureCharts.Embeddings2D([("t", randn(5, 2))], labels)).Message);
    }
}

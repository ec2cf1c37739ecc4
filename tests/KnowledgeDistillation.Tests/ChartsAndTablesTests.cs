using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Tables;

namespace KnowledgeDistillation.Tests;

public class ChartsAndTablesTests
{
    [Fact]
    public void Class_counts_of_the_test_split_are_balanced()
    {
        using var test = FashionMnist.Load(Split.Test);
        var table = DataTables.ClassCounts(test);
        Assert.Equal(10, table.Rows.Count);
        Assert.Equal(["label", "class", "count", "share %"], table.Columns.Select(c => c.Name));
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(FashionMnist.ClassNames[i], table["class"][i]);
            Assert.Equal(1000L, table["count"][i]);
            Assert.Equal(10.0, table["share %"][i]);
        }
    }

    [Fact]
    public void Class_counts_reject_too_few_names()
    {
        using var test = FashionMnist.Load(Split.Test, limit: 100);
        Assert.Throws<ArgumentException>(() => DataTables.ClassCounts(test, ["a", "b"]));
    }

    [Fact]
    public void Sample_grid_has_one_titled_panel_per_class_and_works_offline()
    {
        using var test = FashionMnist.Load(Split.Test, limit: 500);
        var chart = ImageCharts.SamplesPerClass(test, perClass: 4, rows: 2);
        var html = ChartFiles.ToHtml(chart);
        foreach (var name in FashionMnist.ClassNames)
            Assert.Contains(System.Text.Json.JsonSerializer.Serialize(name)[1..^1], html);
        Assert.Equal(10, Plotly.NET.GenericChart.getTraces(chart).Length);
        Assert.DoesNotContain("src=\"https://cdn.plot.ly", html);
        Assert.Contains("src=\"https://cdn.plot.ly", ChartFiles.ToHtml(chart, embedPlotlyJs: false));
        Assert.True(html.Length > 1_000_000, "plotly.js should be embedded in the page");

        var path = Path.Combine(Repo.Root, "artifacts", "charts", "samples-per-class.html");
        ChartFiles.SaveHtml(chart, path);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Sample_grid_validates_its_arguments()
    {
        using var few = FashionMnist.Load(Split.Test, limit: 20);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageCharts.SamplesPerClass(few, perClass: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageCharts.SamplesPerClass(few, perClass: 4, rows: 5));
        var e = Assert.Throws<ArgumentException>(() => ImageCharts.SamplesPerClass(few, perClass: 8));
        Assert.Contains("fewer than perClass = 8", e.Message);
    }
}

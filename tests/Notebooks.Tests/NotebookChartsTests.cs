using System.Text.Json.Nodes;
using KnowledgeDistillation.Notebooks;

namespace Notebooks.Tests;

/// <summary>
/// The Plotly figure bundle added to executed notebooks' charts. The fixture, Fixtures/plotly-net-chart.html, is a real
/// chart output, verbatim: the text/html that Plotly.NET.Interactive 6.0.0 gave for
/// <c>DistributionCharts.TemperatureSlider(z, ...)</c> (cell 11 of notebook 02, six bar traces and a slider) in an
/// executed copy written by <c>kd notebooks run 02 --quick</c>.
/// </summary>
public class NotebookChartsTests
{
    static readonly string ChartHtml = File.ReadAllText(Path.Combine(NotebookFiles.FixturesDirectory, "plotly-net-chart.html"));

    static JsonObject Output(string outputType, JsonObject data) => new()
    {
        ["output_type"] = outputType,
        ["data"] = data,
        ["metadata"] = new JsonObject(),
    };

    /// <summary>As nbformat stores it: text/html as a list of lines.</summary>
    static JsonObject Chart(string html) => Output("execute_result", new JsonObject
    {
        ["text/html"] = new JsonArray(Lines(html).Select(line => (JsonNode)line).ToArray()),
    });

    static IEnumerable<string> Lines(string text)
    {
        string[] lines = text.Split('\n');
        return lines.Select((line, i) => i < lines.Length - 1 ? line + "\n" : line).Where(line => line.Length > 0);
    }

    static JsonObject Notebook(params JsonObject[] cells) => new()
    {
        ["cells"] = new JsonArray(cells),
        ["metadata"] = new JsonObject { ["language_info"] = new JsonObject { ["name"] = "csharp" } },
        ["nbformat"] = 4,
        ["nbformat_minor"] = 4,
    };

    static JsonObject Code(params JsonObject[] outputs) => new()
    {
        ["cell_type"] = "code",
        ["execution_count"] = 1,
        ["metadata"] = new JsonObject(),
        ["source"] = new JsonArray("DistributionCharts.TemperatureSlider(z)"),
        ["outputs"] = new JsonArray(outputs),
    };

    static JsonNode? Bundle(JsonNode notebook, int cell, int output = 0) => notebook["cells"]![cell]!["outputs"]![output]!["data"]![NotebookCharts.PlotlyMimeType];

    [Fact]
    public void A_chart_output_gets_its_figure_next_to_its_html()
    {
        string before = Notebook(Code(Chart(ChartHtml))).ToJsonString();
        var after = JsonNode.Parse(NotebookCharts.AddPlotlyFigures(before))!;

        var figure = Bundle(after, 0)!.AsObject();
        Assert.Equal(["data", "layout", "config"], figure.Select(p => p.Key));
        var traces = figure["data"]!.AsArray();
        Assert.Equal(6, traces.Count);
        Assert.All(traces, trace => Assert.Equal("bar", (string?)trace!["type"]));
        var t1 = traces[1]!;
        Assert.Equal("T = 1 (entropy 0.40 nats)", (string?)t1["name"]);
        Assert.Equal("Shirt", (string?)t1["x"]![6]);
        Assert.Equal(0.896973299073754, (double)t1["y"]![6]!); // the fixture's number, as written
        Assert.True((bool)t1["visible"]!);
        Assert.Equal("Image #1515 (a shirt): softmax(z / T)", (string?)figure["layout"]!["title"]!["text"]);
        Assert.Equal(6, figure["layout"]!["sliders"]![0]!["steps"]!.AsArray().Count);
        Assert.True((bool)figure["config"]!["responsive"]!);

        // The HTML stays, for viewers that run output scripts.
        var data = after["cells"]![0]!["outputs"]![0]!["data"]!.AsObject();
        Assert.Equal(ChartHtml, NotebookHtmlText(data["text/html"]));
        Assert.Equal(["text/html", NotebookCharts.PlotlyMimeType], data.Select(p => p.Key));
    }

    [Fact]
    public void Every_chart_gets_one_and_a_display_data_chart_too()
    {
        var display = Output("display_data", new JsonObject { ["text/html"] = ChartHtml.Replace("\"type\":\"bar\"", "\"type\":\"scatter\"") });
        var after = JsonNode.Parse(NotebookCharts.AddPlotlyFigures(Notebook(Code(Chart(ChartHtml)), Code(display, Chart(ChartHtml))).ToJsonString()))!;
        Assert.Equal("bar", (string?)Bundle(after, 0)!["data"]![0]!["type"]);
        Assert.Equal("scatter", (string?)Bundle(after, 1, 0)!["data"]![0]!["type"]);
        Assert.Equal("bar", (string?)Bundle(after, 1, 1)!["data"]![0]!["type"]);
    }

    [Fact]
    public void Outputs_that_are_not_charts_and_other_cells_are_left_as_they_are()
    {
        var notebook = Notebook(
            new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = new JsonArray("# Temperature ($T$) 教師模型 <b>&</b>\n") },
            Code(
                new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = new JsonArray("var data = [1, 2];\n") },
                Output("execute_result", new JsonObject { ["text/plain"] = new JsonArray("42"), ["text/html"] = "<table><tr><td>var layout = {}</td></tr></table>" }),
                new JsonObject { ["output_type"] = "error", ["ename"] = "Error", ["evalue"] = "boom", ["traceback"] = new JsonArray("boom") },
                Chart(ChartHtml)));
        var after = JsonNode.Parse(NotebookCharts.AddPlotlyFigures(notebook.ToJsonString()))!;

        Assert.NotNull(Bundle(after, 1, 3));
        after["cells"]![1]!["outputs"]![3]!["data"]!.AsObject().Remove(NotebookCharts.PlotlyMimeType);
        Assert.True(JsonNode.DeepEquals(notebook, after), "only the chart's bundle may be added");
    }

    [Theory]
    [InlineData("the data is a JavaScript expression, not JSON", "var data = [{\"type\":\"bar\",", "var data = [{type: 'bar',")]
    [InlineData("the layout is cut short", "var layout = {\"width\":820,", "var layout = {\"width\":820 ")]
    [InlineData("two charts in one output", "Plotly.newPlot(", "var data = []; Plotly.newPlot(")]
    [InlineData("no Plotly.newPlot", "Plotly.newPlot(", "Plotly.react(")]
    public void A_chart_whose_figure_cannot_be_read_gets_no_bundle_and_is_left_as_it_is(string why, string find, string replace)
    {
        Assert.Contains(find, ChartHtml);
        string before = Notebook(Code(Chart(ChartHtml.Replace(find, replace)))).ToJsonString();
        Assert.True(before == NotebookCharts.AddPlotlyFigures(before), why);
    }

    [Fact]
    public void Text_in_the_chart_that_looks_like_its_script_is_read_as_text()
    {
        string html = ChartHtml.Replace("T = 1 (entropy", "T = 1 ]; var layout = {\\\"x\\\": 1}; var data = [ (entropy");
        var after = JsonNode.Parse(NotebookCharts.AddPlotlyFigures(Notebook(Code(Chart(html))).ToJsonString()))!;
        var figure = Bundle(after, 0)!;
        Assert.Equal("T = 1 ]; var layout = {\"x\": 1}; var data = [ (entropy 0.40 nats)", (string?)figure["data"]![1]!["name"]);
        Assert.Equal(6, figure["data"]!.AsArray().Count);
        Assert.Equal(820, (int)figure["layout"]!["width"]!);
    }

    [Fact]
    public void Adding_twice_changes_nothing_and_a_notebook_without_charts_comes_back_unchanged()
    {
        string once = NotebookCharts.AddPlotlyFigures(Notebook(Code(Chart(ChartHtml))).ToJsonString());
        Assert.Equal(once, NotebookCharts.AddPlotlyFigures(once));

        string noCharts = Notebook(Code(Output("execute_result", new JsonObject { ["text/plain"] = "2" }))).ToJsonString() + "\n";
        Assert.Same(noCharts, NotebookCharts.AddPlotlyFigures(noCharts));
    }

    [Fact]
    public void The_notebook_is_written_in_the_layout_of_executed_notebooks()
    {
        var notebook = Notebook(
            new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = new JsonArray("教師模型 <b>&</b> \"T\"\n") },
            Code(Chart(ChartHtml)));
        string after = NotebookCharts.AddPlotlyFigures(notebook.ToJsonString() + "\n");
        Assert.StartsWith("{\n \"cells\": [\n  {\n", after.ReplaceLineEndings("\n"));
        Assert.Contains("教師模型 <b>&</b> \\\"T\\\"\\n", after);
        Assert.EndsWith("}\n", after);
    }

    static string NotebookHtmlText(JsonNode? node) => node is JsonArray lines ? string.Concat(lines.Select(l => (string?)l)) : (string?)node ?? "";
}

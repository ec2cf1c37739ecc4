using KnowledgeDistillation.Apps;
using Microsoft.Data.Analysis;

namespace KnowledgeDistillation.Tests;

/// <summary>The display of exported apps: tables as aligned text on the console and as escaped HTML in a file, and
/// plotly.js from Plotly.NET for offline charts. (The whole display runs in Notebooks.Tests' exported-app test.)</summary>
public class AppDisplayTests
{
    static DataFrame Frame() => new(
        new StringDataFrameColumn("class", ["T-shirt/top", "<Bag & co>"]),
        new PrimitiveDataFrameColumn<double>("share %", [10.5, 2]));

    [Fact]
    public void A_table_prints_as_text_with_columns_padded_to_their_widest_cell()
    {
        var lines = AppDisplay.Text(Frame()).Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["class        share %", "T-shirt/top  10.5", "<Bag & co>   2"], lines);
    }

    [Fact]
    public void A_table_becomes_html_with_every_cell_escaped()
    {
        var html = AppDisplay.Table(Frame());
        Assert.StartsWith("<table><thead><tr><th>class</th><th>share %</th></tr></thead>", html);
        Assert.Contains("<tr><td>&lt;Bag &amp; co&gt;</td><td>2</td></tr>", html);
        Assert.DoesNotContain("<Bag", html);
    }

    [Fact]
    public void Plotly_js_comes_from_Plotly_NET()
    {
        Assert.Contains("* plotly.js v2.", PlotlyJs.Source[..200]);
        Assert.Contains("Licensed under the MIT license", PlotlyJs.Source[..300]);
        Assert.True(PlotlyJs.Source.Length > 1_000_000);
    }
}

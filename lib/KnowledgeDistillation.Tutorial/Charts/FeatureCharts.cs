using KnowledgeDistillation.Data;
using Plotly.NET;
using Plotly.NET.CSharp;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>
/// Plotly charts of what is inside a network: attention maps beside their images (notebook 05), batch distance or
/// similarity matrices side by side, and 2-D projections of embeddings coloured by class (notebook 06).
/// </summary>
public static class FeatureCharts
{
    /// <summary>Ten distinguishable colours (Plotly's defaults), one per class.</summary>
    static readonly string[] ClassColours =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>
    /// A grid with one row per image: the image itself, then one heatmap per column of <paramref name="maps"/>, such as
    /// the teacher's attention map and the student's before and after distillation.
    /// </summary>
    /// <param name="images">The images [N, 1, 28, 28], normalised as <see cref="FashionMnist.Load"/> returns them.</param>
    /// <param name="maps">Named columns, each [N, H·W] (as <c>AttentionTransferLoss.AttentionMap</c> returns) or [N, H, W] with H = W.</param>
    /// <param name="rowTitles">One title per image (for example its class); none when null.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">The shapes do not agree, or a map is not square.</exception>
    public static GenericChart MapGrid(Tensor images, IReadOnlyList<(string Name, Tensor Maps)> maps, IReadOnlyList<string>? rowTitles = null,
        string title = "Attention maps")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(maps);
        if (images.dim() != 4) throw new ArgumentException($"images must be [N, 1, H, W]; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (maps.Count == 0) throw new ArgumentException("Give at least one column of maps.", nameof(maps));
        long n = images.shape[0];
        if (rowTitles is not null && rowTitles.Count != n)
            throw new ArgumentException($"There are {n} images but {rowTitles.Count} row titles.", nameof(rowTitles));

        var pixels = Rows(images.reshape(n, images.shape[2], images.shape[3]).mul(FashionMnist.Std).add(FashionMnist.Mean).clamp(0, 1));
        var columns = maps.Select(m => (m.Name, Values: Rows(Square(m.Maps, n, m.Name)))).ToList();
        var panels = new List<GenericChart>();
        var titles = new List<string>();
        for (int i = 0; i < n; i++)
        {
            panels.Add(CSharpChart.Heatmap<double, int, int, string>(zData: pixels[i], ColorScale: StyleParam.Colorscale.Greys,
                ReverseScale: true, ShowScale: false, ReverseYAxis: true));
            titles.Add(rowTitles is null ? "image" : rowTitles[i]);
            foreach (var (name, values) in columns)
            {
                panels.Add(CSharpChart.Heatmap<double, int, int, string>(zData: values[i], ColorScale: StyleParam.Colorscale.Hot,
                    ShowScale: false, ReverseYAxis: true));
                titles.Add(name);
            }
        }
        int width = columns.Count + 1;
        return CSharpChart.Grid(panels, (int)n, width, SubPlotTitles: titles.ToArray())
            .WithSize(Width: 170 * width + 80, Height: 170 * (int)n + 100)
            .WithTitleText(title);
    }

    /// <summary>Square matrices side by side as one heatmap on one shared colour scale, such as the pairwise distances of
    /// a batch's embeddings for the teacher and for the student before and after distillation. The matrices are drawn
    /// left to right with a blank gap between them, and the title names them in that order.</summary>
    /// <param name="matrices">Named matrices [B, B] (any square size; all the same).</param>
    /// <param name="title">The chart's title; the matrices' names are appended.</param>
    /// <param name="axisTitle">What the rows and columns index, for example "image in the batch (sorted by class)".</param>
    /// <exception cref="ArgumentException">No matrices, or one is not square or differs in size.</exception>
    public static GenericChart MatrixPanels(IReadOnlyList<(string Name, Tensor Matrix)> matrices, string title, string axisTitle = "image in the batch")
    {
        ArgumentNullException.ThrowIfNull(matrices);
        if (matrices.Count == 0) throw new ArgumentException("Give at least one matrix.", nameof(matrices));
        long size = matrices[0].Matrix.shape[0];
        foreach (var (name, m) in matrices)
            if (m.dim() != 2 || m.shape[0] != m.shape[1] || m.shape[0] != size)
                throw new ArgumentException($"Every matrix must be [{size}, {size}]; '{name}' is [{string.Join(", ", m.shape)}].", nameof(matrices));
        int b = (int)size, gap = Math.Max(1, b / 10);
        var values = matrices.Select(m => Rows(m.Matrix.unsqueeze(0))[0]).ToList();
        // One canvas, so that one colour scale covers every matrix; NaN columns separate them.
        var canvas = Enumerable.Range(0, b).Select(r => values
            .SelectMany((v, k) => k == 0 ? v[r] : Enumerable.Repeat(double.NaN, gap).Concat(v[r]))
            .ToArray()).ToArray();
        return CSharpChart.Heatmap<double, int, int, string>(zData: canvas, ColorScale: StyleParam.Colorscale.Viridis, ReverseYAxis: true)
            .WithSize(Width: 300 * matrices.Count + 160, Height: 420)
            .WithXAxisStyle<int, int, int>(TitleText: $"{axisTitle}, one block per matrix")
            .WithYAxisStyle<int, int, int>(TitleText: axisTitle)
            .WithTitleText($"{title}<br>left to right: {string.Join(" · ", matrices.Select(m => m.Name))}");
    }

    /// <summary>
    /// Panels of 2-D points coloured by class, one panel per named set of points (for example the teacher's and the
    /// student's embeddings projected by <see cref="Analysis.Projection.Pca"/>). Each class keeps its colour in every panel.
    /// </summary>
    /// <param name="points">Named point sets, each [N, 2], all for the same N images.</param>
    /// <param name="labels">The N images' classes.</param>
    /// <param name="classNames">Legend names by class; Fashion-MNIST's when null.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">A point set is not [N, 2] or the labels do not match.</exception>
    public static GenericChart Embeddings2D(IReadOnlyList<(string Name, Tensor Points)> points, Tensor labels, IReadOnlyList<string>? classNames = null,
        string title = "Embeddings, projected to 2-D")
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(labels);
        if (points.Count == 0) throw new ArgumentException("Give at least one set of points.", nameof(points));
        classNames ??= FashionMnist.ClassNames;
        var y = labels.cpu().to_type(ScalarType.Int64).data<long>().ToArray();
        var panels = new List<GenericChart>();
        for (int k = 0; k < points.Count; k++)
        {
            var (name, p) = points[k];
            if (p.dim() != 2 || p.shape[1] != 2 || p.shape[0] != y.Length)
                throw new ArgumentException($"'{name}' must be [{y.Length}, 2] (one point per label); got [{string.Join(", ", p.shape)}].", nameof(points));
            var xy = p.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
            var traces = new List<GenericChart>();
            for (int c = 0; c < classNames.Count; c++)
            {
                var members = Enumerable.Range(0, y.Length).Where(i => y[i] == c).ToArray();
                if (members.Length == 0) continue;
                traces.Add(CSharpChart.Point<double, double, string>(members.Select(i => xy[2 * i]), members.Select(i => xy[2 * i + 1]),
                    Name: classNames[c], ShowLegend: k == 0, MarkerColor: Color.fromString(ClassColours[c % ClassColours.Length]), Opacity: 0.7));
            }
            panels.Add(CSharpChart.Combine(traces));
        }
        return CSharpChart.Grid(panels, 1, panels.Count, SubPlotTitles: points.Select(p => p.Name).ToArray())
            .WithSize(Width: 420 * panels.Count + 160, Height: 460)
            .WithTitleText(title);
    }

    /// <summary>Maps [N, H·W] or [N, H, W] as [N, S, S].</summary>
    static Tensor Square(Tensor maps, long n, string name)
    {
        ArgumentNullException.ThrowIfNull(maps);
        if (maps.shape[0] != n) throw new ArgumentException($"Column '{name}' has {maps.shape[0]} maps for {n} images.", nameof(maps));
        if (maps.dim() == 3 && maps.shape[1] == maps.shape[2]) return maps;
        if (maps.dim() == 2)
        {
            long side = (long)Math.Round(Math.Sqrt(maps.shape[1]));
            if (side * side == maps.shape[1]) return maps.reshape(n, side, side);
        }
        throw new ArgumentException($"Column '{name}' must hold square maps, [N, S·S] or [N, S, S]; got [{string.Join(", ", maps.shape)}].", nameof(maps));
    }

    /// <summary>[N, H, W] as N jagged H × W arrays of doubles.</summary>
    static double[][][] Rows(Tensor t)
    {
        var values = t.detach().cpu().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        int n = (int)t.shape[0], h = (int)t.shape[1], w = (int)t.shape[2];
        return [.. Enumerable.Range(0, n).Select(i => Enumerable.Range(0, h).Select(r => values.AsSpan(i * h * w + r * w, w).ToArray()).ToArray())];
    }
}

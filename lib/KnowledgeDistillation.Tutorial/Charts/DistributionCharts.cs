using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Data;
using Microsoft.FSharp.Core;
using Plotly.NET;
using Plotly.NET.CSharp;
using Plotly.NET.LayoutObjects;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>
/// Charts of probability distributions for notebooks 01 and 02: soft against hard labels, the class-similarity
/// matrix, entropies, and softmax at several temperatures (with a slider).
/// </summary>
public static class DistributionCharts
{
    static readonly Color HardColor = Color.fromString("#9e9e9e");
    static readonly Color SoftColor = Color.fromString("#1f77b4");

    /// <summary>
    /// One image's labels as bars: its hard label (硬標籤, one-hot, grey) beside a soft label (軟標籤, the teacher's
    /// probabilities, blue).
    /// </summary>
    /// <param name="probabilities">One distribution [C].</param>
    /// <param name="hardLabel">The true class, drawn as a one-hot bar; none when null.</param>
    /// <param name="classNames">Names by class; Fashion-MNIST's when null.</param>
    /// <param name="title">The chart's title.</param>
    public static GenericChart Probabilities(Tensor probabilities, int? hardLabel = null, IReadOnlyList<string>? classNames = null, string title = "Soft label")
    {
        var p = Vector(probabilities, nameof(probabilities));
        var names = SoftLabelStats.Names(classNames, p.Length);
        var bars = new List<GenericChart>();
        if (hardLabel is int y)
        {
            if (y < 0 || y >= p.Length) throw new ArgumentOutOfRangeException(nameof(hardLabel), y, $"hardLabel must be in [0, {p.Length - 1}].");
            bars.Add(CSharpChart.Column<double, string, string>(
                Enumerable.Range(0, p.Length).Select(i => i == y ? 1.0 : 0.0), Keys: names.ToArray(), Name: "hard label", MarkerColor: HardColor));
        }
        bars.Add(CSharpChart.Column<double, string, string>(p, Keys: names.ToArray(), Name: "soft label (teacher)", MarkerColor: SoftColor,
            MultiText: p.Select(v => v >= 0.005 ? $"{100 * v:F1}%" : "").ToArray(), TextPosition: StyleParam.TextPosition.Outside));
        return CSharpChart.Combine(bars)
            .WithYAxisStyle<double, double, string>(TitleText: "probability", MinMax: new Tuple<double, double>(0, 1.1))
            .WithSize(Width: 800, Height: 380)
            .WithTitleText(title);
    }

    /// <summary>
    /// A grid with one column per image: the image on top and, below it, its hard label (grey) and the teacher's soft
    /// label (blue) as horizontal bars, classes top to bottom.
    /// </summary>
    /// <param name="images">Normalised images [N, 1, 28, 28] (as <see cref="FashionMnist.Load"/> returns them).</param>
    /// <param name="probabilities">Soft labels [N, C].</param>
    /// <param name="labels">True classes, int64 [N].</param>
    /// <param name="indices">Which images to show, 1 to 8 of them.</param>
    /// <param name="classNames">Names by class; Fashion-MNIST's when null.</param>
    /// <param name="title">The chart's title.</param>
    public static GenericChart SoftLabels(Tensor images, Tensor probabilities, Tensor labels, IReadOnlyList<long> indices,
        IReadOnlyList<string>? classNames = null, string title = "Hard labels and the teacher's soft labels")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(indices), indices.Count, "Show between 1 and 8 images.");
        if (images.dim() != 4 || images.shape[0] != probabilities.shape[0] || probabilities.shape[0] != labels.shape[0])
            throw new ArgumentException($"images [N, 1, H, W], probabilities [N, C] and labels [N] must agree; got [{string.Join(", ", images.shape)}], [{string.Join(", ", probabilities.shape)}], [{string.Join(", ", labels.shape)}].");
        int classes = (int)probabilities.shape[1];
        var names = SoftLabelStats.Names(classNames, classes);
        var reversed = names.Reverse().ToArray(); // horizontal bars list the first class at the top

        var pictures = new List<GenericChart>();
        var bars = new List<GenericChart>();
        var titles = new List<string>();
        var barTitles = new List<string>();
        for (int k = 0; k < indices.Count; k++)
        {
            long i = indices[k];
            if (i < 0 || i >= labels.shape[0]) throw new ArgumentOutOfRangeException(nameof(indices), i, $"Index {i} is outside [0, {labels.shape[0] - 1}].");
            int y = (int)labels[i].item<long>();
            using var scope = NewDisposeScope();
            var p = probabilities[i].detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
            var picture = CSharpChart.Heatmap<double, int, int, string>(
                zData: Pixels(images[i]), ColorScale: StyleParam.Colorscale.Greys, ShowScale: false, ReverseYAxis: true, Name: $"image {i}");
            pictures.Add(Plotly.NET.Chart.withYAxis(BareAxis(reversed: true), null).Invoke(Plotly.NET.Chart.withXAxis(BareAxis(reversed: false), null).Invoke(picture)));
            bool first = k == 0;
            var hard = CSharpChart.Bar<double, string, string>(
                reversed.Select(n => n == names[y] ? 1.0 : 0.0), Keys: reversed, Name: "hard label", ShowLegend: first, MarkerColor: HardColor);
            var soft = CSharpChart.Bar<double, string, string>(
                Enumerable.Range(0, classes).Reverse().Select(c => p[c]), Keys: reversed, Name: "soft label (teacher)", ShowLegend: first, MarkerColor: SoftColor);
            bars.Add(CSharpChart.Combine([hard, soft]));
            titles.Add($"#{i}, true: {names[y]}");
            var top = SoftLabelStats.TopClasses(probabilities[i], 1, names)[0];
            barTitles.Add($"teacher: {top.Name} {100 * top.Probability:F0}%");
        }
        int columns = indices.Count;
        return CSharpChart.Grid([.. pictures, .. bars], 2, columns, SubPlotTitles: titles.Concat(barTitles).ToArray(), XGap: 0.35, YGap: 0.2)
            .WithSize(Width: Math.Max(560, 210 * columns + 140), Height: 620)
            .WithTitleText(title);
    }

    /// <summary>
    /// <c>softmax(logits / T)</c> of one logit vector as bars, with a slider that picks T: Hinton's "softmax at several
    /// temperatures" figure, interactive. Each step shows one temperature; its legend entry gives the entropy.
    /// </summary>
    /// <param name="logits">One logit vector [C].</param>
    /// <param name="temperatures">The slider's temperatures, in order; <see cref="TemperatureAnalysis.TutorialTemperatures"/> when null.</param>
    /// <param name="classNames">Names by class; Fashion-MNIST's when null.</param>
    /// <param name="title">The chart's title.</param>
    /// <param name="initial">The index of the temperature shown first.</param>
    public static GenericChart TemperatureSlider(Tensor logits, IReadOnlyList<double>? temperatures = null, IReadOnlyList<string>? classNames = null,
        string title = "Softmax at temperature T", int initial = 1)
    {
        ArgumentNullException.ThrowIfNull(logits);
        temperatures ??= TemperatureAnalysis.TutorialTemperatures;
        if (temperatures.Count == 0) throw new ArgumentException("No temperatures.", nameof(temperatures));
        if (initial < 0 || initial >= temperatures.Count) throw new ArgumentOutOfRangeException(nameof(initial), initial, $"initial must be in [0, {temperatures.Count - 1}].");
        var names = SoftLabelStats.Names(classNames, (int)logits.shape[^1]).ToArray();
        var entropies = TemperatureAnalysis.Entropies(logits, temperatures);

        var traces = temperatures.Select((T, k) =>
        {
            var p = TemperatureAnalysis.Probabilities(logits, T);
            var bar = CSharpChart.Column<double, string, string>(p, Keys: names, Name: $"T = {T:G4} (entropy {entropies[k]:F2} nats)", ShowLegend: true,
                MarkerColor: SoftColor, MultiText: p.Select(v => $"{100 * v:F1}%").ToArray(), TextPosition: StyleParam.TextPosition.Outside);
            return bar.WithTraceInfo(Visible: k == initial ? StyleParam.Visible.True : StyleParam.Visible.False);
        }).ToList();

        var steps = temperatures.Select((T, k) => SliderStep.init(
            FSharpOption<IEnumerable<Tuple<string, object>>>.Some([Tuple.Create<string, object>("visible", temperatures.Select((_, j) => j == k).ToArray())]),
            null, FSharpOption<string>.Some($"{T:G4}"), FSharpOption<StyleParam.Method>.Some(StyleParam.Method.Restyle), null, null, null, null));
        var currentValue = SliderCurrentValue.init(null, null, FSharpOption<string>.Some("T = "), null, FSharpOption<bool>.Some(true), null);
        var slider = Slider.init(FSharpOption<int>.Some(initial), null, null, null, null, FSharpOption<SliderCurrentValue>.Some(currentValue),
            null, null, null, null, null, null, FSharpOption<IEnumerable<SliderStep>>.Some(steps), null, null, null, null, null, null, null, null, null, null);

        return Plotly.NET.Chart.withSlider(slider, null).Invoke(CSharpChart.Combine(traces))
            .WithYAxisStyle<double, double, string>(TitleText: "probability", MinMax: new Tuple<double, double>(0, 1.1))
            .WithLegendStyle(Orientation: StyleParam.Orientation.Horizontal, X: 0, Y: 1.02, YAnchor: StyleParam.YAnchorPosition.Bottom)
            .WithSize(Width: 820, Height: 520)
            .WithTitleText(title);
    }

    /// <summary>
    /// Entropy of <c>softmax(logits / T)</c> against T (log scale), one line per logit vector, between the two limits:
    /// 0 (T → 0, the one-hot argmax) and log C (T → ∞, uniform).
    /// </summary>
    /// <param name="logits">Logit vectors [C] by name (for example "clear trouser", "ambiguous shirt").</param>
    /// <param name="temperatures">The temperatures, increasing; 0.1 to 100 when null.</param>
    /// <param name="title">The chart's title.</param>
    public static GenericChart EntropyVsTemperature(IReadOnlyDictionary<string, Tensor> logits, IReadOnlyList<double>? temperatures = null,
        string title = "Entropy of the soft label against the temperature")
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Count == 0) throw new ArgumentException("No logit vectors.", nameof(logits));
        temperatures ??= TemperatureAnalysis.LogSpace(0.1, 100, 61);
        int classes = (int)logits.First().Value.shape[^1];
        var lines = logits.Select(kv => CSharpChart.Line<double, double, string>(temperatures, TemperatureAnalysis.Entropies(kv.Value, temperatures), Name: kv.Key)).ToList();
        double max = Math.Log(classes);
        lines.Add(CSharpChart.Line<double, double, string>(new[] { temperatures[0], temperatures[^1] }, new[] { max, max },
            Name: $"log {classes} = {max:F3} (uniform)", LineDash: StyleParam.DrawingStyle.Dash, LineColor: HardColor));
        return CSharpChart.Combine(lines)
            .WithXAxisStyle<double, double, string>(TitleText: "temperature T (log scale)", AxisType: StyleParam.AxisType.Log)
            .WithYAxisStyle<double, double, string>(TitleText: "entropy (nats)", MinMax: new Tuple<double, double>(0, max * 1.08))
            .WithSize(Width: 820, Height: 460)
            .WithTitleText(title);
    }

    /// <summary>Lines of y against x, one per named series, with optional log axes (for scaling laws such as 1/T²).</summary>
    public static GenericChart Curves(IReadOnlyList<double> x, IReadOnlyDictionary<string, IReadOnlyList<double>> series, string xTitle, string yTitle,
        string title, bool logX = false, bool logY = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("No series.", nameof(series));
        foreach (var s in series)
            if (s.Value.Count != x.Count) throw new ArgumentException($"Series '{s.Key}' has {s.Value.Count} values for {x.Count} x values.", nameof(series));
        var lines = series.Select(s => CSharpChart.Line<double, double, string>(x, s.Value, ShowMarkers: true, Name: s.Key));
        return CSharpChart.Combine(lines)
            .WithXAxisStyle<double, double, string>(TitleText: xTitle, AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
            .WithYAxisStyle<double, double, string>(TitleText: yTitle, AxisType: logY ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
            .WithSize(Width: 820, Height: 460)
            .WithTitleText(title);
    }

    /// <summary>
    /// The class-similarity matrix (<see cref="SoftLabelStats.AverageSoftLabels"/>) as a heatmap in percent: row = true
    /// class, column = the class the teacher gives probability to. With <paramref name="hideDiagonal"/> the diagonal
    /// (the confidence in the true class, near 100 %) is left blank so that the colour scale shows the off-diagonal
    /// "dark knowledge".
    /// </summary>
    public static GenericChart ClassSimilarity(Tensor averageSoftLabels, IReadOnlyList<string>? classNames = null, bool hideDiagonal = true,
        string title = "Average soft label of each class (%), diagonal hidden")
    {
        var m = SoftLabelStats.ToMatrix(averageSoftLabels);
        int n = m.GetLength(0);
        if (m.GetLength(1) != n) throw new ArgumentException("The class-similarity matrix must be square.", nameof(averageSoftLabels));
        var names = SoftLabelStats.Names(classNames, n).ToArray();
        var z = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, n).Select(j => hideDiagonal && i == j ? double.NaN : Math.Round(100 * m[i, j], 3)).ToArray()).ToArray();
        return CSharpChart.Heatmap<double, string, string, string>(
                zData: z, X: names, Y: names, ReverseYAxis: true, ColorScale: StyleParam.Colorscale.Viridis)
            .WithXAxisStyle<string, string, string>(TitleText: "teacher's probability for this class")
            .WithYAxisStyle<string, string, string>(TitleText: "true class")
            .WithSize(Width: 820, Height: 700)
            .WithTitleText(title);
    }

    /// <summary>The distribution of soft-label entropies within each class, as box plots (a hard label's entropy is 0).</summary>
    /// <param name="entropies">One entropy per image [N], in nats.</param>
    /// <param name="labels">True classes, int64 [N].</param>
    /// <param name="classNames">Names by class; Fashion-MNIST's when null.</param>
    /// <param name="title">The chart's title.</param>
    public static GenericChart EntropyByClass(Tensor entropies, Tensor labels, IReadOnlyList<string>? classNames = null,
        string title = "Entropy of the teacher's soft labels, by true class")
    {
        ArgumentNullException.ThrowIfNull(entropies);
        ArgumentNullException.ThrowIfNull(labels);
        if (entropies.dim() != 1 || labels.dim() != 1 || entropies.shape[0] != labels.shape[0])
            throw new ArgumentException($"entropies [N] and labels [N] must agree; got [{string.Join(", ", entropies.shape)}] and [{string.Join(", ", labels.shape)}].");
        using var scope = NewDisposeScope();
        var h = entropies.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        var y = labels.cpu().data<long>().ToArray();
        int classes = classNames?.Count ?? FashionMnist.NumClasses;
        var names = SoftLabelStats.Names(classNames, classes);
        var boxes = Enumerable.Range(0, classes).Select(c => CSharpChart.BoxPlot<string, double, string>(
            Y: h.Where((_, i) => y[i] == c).ToArray(), Name: names[c], BoxPoints: StyleParam.BoxPoints.SuspectedOutliers));
        return CSharpChart.Combine(boxes)
            .WithYAxisStyle<double, double, string>(TitleText: "entropy (nats)")
            .WithLegendStyle(Visible: false)
            .WithSize(Width: 820, Height: 460)
            .WithTitleText(title);
    }

    /// <summary>An axis without ticks, labels, grid or zero line, for images.</summary>
    static LinearAxis BareAxis(bool reversed)
    {
        var axis = new LinearAxis();
        axis.SetProperty("showticklabels", false);
        axis.SetProperty("showgrid", false);
        axis.SetProperty("zeroline", false);
        axis.SetProperty("ticks", "");
        if (reversed) axis.SetProperty("autorange", "reversed");
        return axis;
    }

    static double[] Vector(Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.dim() != 1) throw new ArgumentException($"Expected one distribution [C]; got shape [{string.Join(", ", t.shape)}].", name);
        using var scope = NewDisposeScope();
        return t.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
    }

    /// <summary>One normalised image [1, H, W] back to [0, 1] grey levels, as rows.</summary>
    static double[][] Pixels(Tensor image)
    {
        using var scope = NewDisposeScope();
        var plane = image.detach().cpu().reshape(image.shape[^2], image.shape[^1]).mul(FashionMnist.Std).add(FashionMnist.Mean).clamp(0, 1).to_type(ScalarType.Float64);
        int h = (int)plane.shape[0], w = (int)plane.shape[1];
        var values = plane.contiguous().data<double>().ToArray();
        return [.. Enumerable.Range(0, h).Select(r => values.AsSpan(r * w, w).ToArray())];
    }
}

using KnowledgeDistillation.Training;
using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>Which metric a learning curve shows.</summary>
public enum CurveMetric
{
    /// <summary>Test accuracy after each epoch.</summary>
    TestAccuracy,
    /// <summary>Mean training objective in each epoch.</summary>
    TrainLoss,
    /// <summary>Cross entropy on the test set after each epoch.</summary>
    TestLoss,
    /// <summary>Expected calibration error on the test set after each epoch.</summary>
    TestEce,
}

/// <summary>Charts of training runs, shared by the notebooks and the CLI.</summary>
public static class TrainingCharts
{
    /// <summary>One line per run: <paramref name="metric"/> against the epoch.</summary>
    /// <param name="runs">Histories by run name (for example "scratch", "KD T=4").</param>
    /// <param name="metric">What to plot.</param>
    public static GenericChart LearningCurves(IReadOnlyDictionary<string, IReadOnlyList<EpochRecord>> runs, CurveMetric metric = CurveMetric.TestAccuracy)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) throw new ArgumentException("No runs to plot.", nameof(runs));
        var lines = runs.Select(run => CSharpChart.Line<int, double, string>(
            run.Value.Select(r => r.Epoch), run.Value.Select(r => Value(r, metric)), ShowMarkers: true, Name: run.Key));
        string label = Label(metric);
        return CSharpChart.Combine(lines)
            .WithXAxisStyle<int, int, int>(TitleText: "epoch")
            .WithYAxisStyle<double, double, double>(TitleText: label)
            .WithTitleText($"{label} by epoch");
    }

    /// <summary>
    /// The objective's terms by epoch (each term's training-set mean, as the trainer records it in
    /// <see cref="EpochRecord.Terms"/>), one line per term, optionally multiplied by the term's weight so that the lines
    /// show how much each contributes to the total. A logarithmic y axis keeps terms of different scales readable.
    /// </summary>
    /// <param name="history">One run's history.</param>
    /// <param name="weights">The terms' weights (term name → weight), to draw weighted contributions; raw values when null.</param>
    /// <param name="title">The chart's title.</param>
    /// <exception cref="ArgumentException">The history has no terms (a plain training run), or a weight is missing.</exception>
    public static GenericChart TermCurves(IReadOnlyList<EpochRecord> history, IReadOnlyDictionary<string, double>? weights = null, string title = "Objective terms by epoch")
    {
        ArgumentNullException.ThrowIfNull(history);
        var names = history.SelectMany(r => r.Terms.Keys).Distinct().ToList();
        if (names.Count == 0) throw new ArgumentException("The history has no objective terms; it comes from plain training, not distillation.", nameof(history));
        var lines = new List<GenericChart>();
        foreach (var name in names)
        {
            double w = 1;
            if (weights is not null && !weights.TryGetValue(name, out w))
                throw new ArgumentException($"No weight for the term '{name}'; give one for each of: {string.Join(", ", names)}.", nameof(weights));
            var points = history.Where(r => r.Terms.ContainsKey(name)).ToList();
            lines.Add(CSharpChart.Line<int, double, string>(points.Select(r => r.Epoch), points.Select(r => w * r.Terms[name]), ShowMarkers: true,
                Name: weights is null ? name : $"{w:G4} × {name}"));
        }
        return CSharpChart.Combine(lines)
            .WithXAxisStyle<int, int, int>(TitleText: "epoch")
            .WithYAxisStyle<double, double, string>(TitleText: weights is null ? "term (training mean, log scale)" : "weighted term (training mean, log scale)", AxisType: StyleParam.AxisType.Log)
            .WithTitleText(title);
    }

    /// <summary>A heatmap of a matrix with labelled rows and columns (a confusion matrix, a similarity matrix).</summary>
    /// <param name="matrix">Values [rows, columns].</param>
    /// <param name="rowLabels">One label per row (drawn top to bottom).</param>
    /// <param name="columnLabels">One label per column.</param>
    /// <param name="title">The chart's title.</param>
    public static GenericChart Heatmap(double[,] matrix, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, string title)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        int rows = matrix.GetLength(0), columns = matrix.GetLength(1);
        if (rowLabels.Count != rows || columnLabels.Count != columns)
            throw new ArgumentException($"The matrix is {rows}×{columns}, but there are {rowLabels.Count} row and {columnLabels.Count} column labels.");
        var z = Enumerable.Range(0, rows).Select(i => Enumerable.Range(0, columns).Select(j => matrix[i, j]).ToArray()).ToArray();
        return CSharpChart.Heatmap<double, string, string, string>(
                zData: z, X: columnLabels.ToArray(), Y: rowLabels.ToArray(), ReverseYAxis: true, ColorScale: StyleParam.Colorscale.Viridis)
            .WithTitleText(title);
    }

    /// <summary>A confusion matrix [true, predicted] as a heatmap of row percentages.</summary>
    public static GenericChart Confusion(long[,] confusion, IReadOnlyList<string> classNames, string title = "Confusion matrix (% of each true class)")
    {
        ArgumentNullException.ThrowIfNull(confusion);
        int n = confusion.GetLength(0);
        var percent = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double total = Enumerable.Range(0, n).Sum(j => (double)confusion[i, j]);
            for (int j = 0; j < n; j++) percent[i, j] = total == 0 ? 0 : Math.Round(100 * confusion[i, j] / total, 1);
        }
        return Heatmap(percent, classNames, classNames, title)
            .WithXAxisStyle<string, string, string>(TitleText: "predicted")
            .WithYAxisStyle<string, string, string>(TitleText: "true class");
    }

    /// <summary>The value of <paramref name="metric"/> in one epoch's record.</summary>
    public static double MetricValue(EpochRecord r, CurveMetric metric) => Value(r, metric);

    /// <summary>The axis label of <paramref name="metric"/> ("test accuracy", …).</summary>
    public static string MetricLabel(CurveMetric metric) => Label(metric);

    static double Value(EpochRecord r, CurveMetric metric) => metric switch
    {
        CurveMetric.TestAccuracy => r.TestAccuracy,
        CurveMetric.TrainLoss => r.TrainLoss,
        CurveMetric.TestLoss => r.TestLoss,
        CurveMetric.TestEce => r.TestEce,
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    static string Label(CurveMetric metric) => metric switch
    {
        CurveMetric.TestAccuracy => "test accuracy",
        CurveMetric.TrainLoss => "training objective",
        CurveMetric.TestLoss => "test cross entropy",
        CurveMetric.TestEce => "test ECE",
        _ => metric.ToString(),
    };
}

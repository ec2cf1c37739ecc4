using System.Globalization;
using KnowledgeDistillation.Training;
using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>
/// A live chart of several runs in one notebook display: one learning curve per run, runs of the same group (for
/// example every seed of "KD student") in one colour, and horizontal reference lines (for example the teacher's
/// accuracy). In a Polyglot Notebook: <c>var view = display("starting…", "text/html"); var live = new LiveComparisonView(v => view.Update(v));</c>
/// (the display keeps the MIME type of its first value, so name "text/html" for the charts to render),
/// then give each run <c>live.For("KD, seed 0", "KD student")</c> as its progress callback. The chart is redrawn after
/// every epoch, and at most every few seconds within one, with the current run's progress in its title.
/// </summary>
public sealed class LiveComparisonView
{
    static readonly string[] Palette = ["rgb(31,119,180)", "rgb(255,127,14)", "rgb(44,160,44)", "rgb(214,39,40)", "rgb(148,103,189)", "rgb(140,86,75)"];

    readonly Action<object> update;
    readonly CurveMetric metric;
    readonly List<(string Run, string Group, List<EpochRecord> History)> runs = [];
    readonly List<(string Name, double Value)> references = [];
    readonly List<string> groups = [];
    readonly TimeSpan throttle;
    DateTime lastUpdate = DateTime.MinValue;

    /// <summary>Creates the view.</summary>
    /// <param name="update">Shows an object (the chart) in the notebook, typically a display's <c>Update</c>.</param>
    /// <param name="metric">What the curves show.</param>
    /// <param name="throttleSeconds">The least time between two redraws within an epoch.</param>
    public LiveComparisonView(Action<object> update, CurveMetric metric = CurveMetric.TestAccuracy, double throttleSeconds = 3)
    {
        ArgumentNullException.ThrowIfNull(update);
        this.update = update;
        this.metric = metric;
        throttle = TimeSpan.FromSeconds(throttleSeconds);
    }

    /// <summary>Adds a horizontal line at <paramref name="value"/> (in the metric's units, for example 0.92 for 92 % accuracy).</summary>
    public LiveComparisonView AddReference(string name, double value)
    {
        references.Add((name, value));
        return this;
    }

    /// <summary>The histories recorded so far, by run name, in the order the runs started.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<EpochRecord>> Runs =>
        runs.ToDictionary(r => r.Run, r => (IReadOnlyList<EpochRecord>)r.History.ToList());

    /// <summary>The progress callback for one run (<see cref="TrainingCallbacks.Progress"/>).</summary>
    /// <param name="run">The run's name, unique in this view.</param>
    /// <param name="group">Runs of one group share a colour and a legend entry; the run's own name when null.</param>
    /// <exception cref="ArgumentException">A run of that name exists already.</exception>
    public Action<TrainingProgress> For(string run, string? group = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (runs.Any(r => r.Run == run)) throw new ArgumentException($"The view already has a run named '{run}'.", nameof(run));
        group ??= run;
        if (!groups.Contains(group)) groups.Add(group);
        var history = new List<EpochRecord>();
        runs.Add((run, group, history));
        return p =>
        {
            ArgumentNullException.ThrowIfNull(p);
            if (p.Completed is { } record)
            {
                history.Add(record);
                Redraw($"{run}: epoch {record.Epoch}/{p.Epochs}, test accuracy {record.TestAccuracy.ToString("P2", CultureInfo.InvariantCulture)}");
            }
            else if (DateTime.UtcNow - lastUpdate >= throttle)
            {
                Redraw($"{run}: epoch {p.Epoch}/{p.Epochs}, batch {p.Batch}/{p.Batches}, running loss {p.RunningLoss.ToString("F4", CultureInfo.InvariantCulture)}");
            }
        };
    }

    void Redraw(string status)
    {
        lastUpdate = DateTime.UtcNow;
        update(Chart(status));
    }

    /// <summary>The chart of everything recorded so far.</summary>
    /// <param name="title">The title; "test accuracy by epoch" (or the metric's name) when null.</param>
    public GenericChart Chart(string? title = null)
    {
        var traces = new List<GenericChart>();
        var legendShown = new HashSet<string>();
        foreach (var (run, group, history) in runs.Where(r => r.History.Count > 0))
        {
            string color = Palette[groups.IndexOf(group) % Palette.Length];
            traces.Add(CSharpChart.Line<int, double, string>(history.Select(r => r.Epoch), history.Select(r => TrainingCharts.MetricValue(r, metric)),
                ShowMarkers: true, Name: group, ShowLegend: legendShown.Add(group), LineColor: Color.fromString(color), MarkerColor: Color.fromString(color),
                Text: run));
        }
        int lastEpoch = Math.Max(1, runs.SelectMany(r => r.History).Select(r => r.Epoch).DefaultIfEmpty(1).Max());
        foreach (var (name, value) in references)
            traces.Add(CSharpChart.Line<int, double, string>([1, lastEpoch], [value, value], Name: name,
                LineColor: Color.fromString("rgb(90,90,90)"), LineDash: StyleParam.DrawingStyle.Dash));
        if (traces.Count == 0)
            traces.Add(CSharpChart.Line<int, double, string>(Array.Empty<int>(), Array.Empty<double>(), Name: "waiting for the first epoch"));
        string label = TrainingCharts.MetricLabel(metric);
        return CSharpChart.Combine(traces)
            .WithXAxisStyle<int, int, int>(TitleText: "epoch")
            .WithYAxisStyle<double, double, double>(TitleText: label)
            .WithTitleText(title ?? $"{label} by epoch");
    }
}

using Plotly.NET;
using Plotly.NET.CSharp;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>Charts that compare probability distributions: fitted densities against a target, and categorical distributions side by side.</summary>
public static class DivergenceCharts
{
    /// <summary>
    /// The target density, shaded, and one line per fitted density, all on the same grid <paramref name="x"/> (for
    /// example a bimodal target and the Gaussians that forward and reverse KL fit to it).
    /// </summary>
    /// <param name="x">The grid.</param>
    /// <param name="target">The target's density on the grid.</param>
    /// <param name="targetName">The target's legend name.</param>
    /// <param name="fits">The fitted densities on the grid, by legend name.</param>
    /// <param name="title">The chart's title.</param>
    public static GenericChart Densities(IReadOnlyList<double> x, IReadOnlyList<double> target, string targetName,
        IReadOnlyDictionary<string, double[]> fits, string title)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(fits);
        if (target.Count != x.Count) throw new ArgumentException($"The target has {target.Count} values but the grid {x.Count}.", nameof(target));
        foreach (var (name, density) in fits)
            if (density.Length != x.Count) throw new ArgumentException($"The fit '{name}' has {density.Length} values but the grid {x.Count}.", nameof(fits));
        var traces = new List<GenericChart>
        {
            CSharpChart.Line<double, double, string>(x, target, Name: targetName, Fill: StyleParam.Fill.ToZero_y,
                LineColor: Color.fromString("rgb(120,120,120)"), FillColor: Color.fromString("rgba(120,120,120,0.25)")),
        };
        // Different dashes, so that fits that nearly coincide stay visible on top of each other.
        StyleParam.DrawingStyle[] dashes = [StyleParam.DrawingStyle.Solid, StyleParam.DrawingStyle.Dash, StyleParam.DrawingStyle.Dot, StyleParam.DrawingStyle.DashDot];
        traces.AddRange(fits.Select((f, k) => CSharpChart.Line<double, double, string>(x, f.Value, Name: f.Key, LineWidth: 3, LineDash: dashes[k % dashes.Length])));
        return CSharpChart.Combine(traces)
            .WithXAxisStyle<double, double, double>(TitleText: "x")
            .WithYAxisStyle<double, double, double>(TitleText: "probability per grid cell")
            .WithTitleText(title);
    }

    /// <summary>Categorical distributions as grouped bars, one group per category (for example a teacher's and a student's class probabilities).</summary>
    /// <param name="categories">The category names, in order.</param>
    /// <param name="distributions">The probabilities of each category, by legend name.</param>
    /// <param name="title">The chart's title.</param>
    public static GenericChart Distributions(IReadOnlyList<string> categories, IReadOnlyDictionary<string, double[]> distributions, string title)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(distributions);
        if (distributions.Count == 0) throw new ArgumentException("No distributions to plot.", nameof(distributions));
        foreach (var (name, p) in distributions)
            if (p.Length != categories.Count) throw new ArgumentException($"'{name}' has {p.Length} probabilities but there are {categories.Count} categories.", nameof(distributions));
        return CSharpChart.Combine(distributions.Select(d => CSharpChart.Column<double, string, string>(d.Value, Keys: categories.ToArray(), Name: d.Key)))
            .WithYAxisStyle<double, double, double>(TitleText: "probability")
            .WithTitleText(title);
    }
}

namespace KnowledgeDistillation.Analysis;

/// <summary>
/// The Pareto front of models described by a cost (parameters, FLOPs, latency: lower is better) and a score (accuracy:
/// higher is better). A model is on the front when no other model is at least as cheap and at least as good, and
/// strictly better in one of the two. Every model off the front has a cheaper-or-equal, better-or-equal alternative.
/// </summary>
public static class ParetoFront
{
    /// <summary>The indices of the points on the front, ordered by increasing cost.</summary>
    /// <param name="costs">Each point's cost (lower is better).</param>
    /// <param name="scores">Each point's score (higher is better).</param>
    /// <remarks>Two identical points do not dominate each other, so both stay on the front. NaN is not allowed.</remarks>
    /// <exception cref="ArgumentException">The lists differ in length, or a value is NaN.</exception>
    public static IReadOnlyList<int> Indices(IReadOnlyList<double> costs, IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(costs);
        ArgumentNullException.ThrowIfNull(scores);
        if (costs.Count != scores.Count)
            throw new ArgumentException($"{costs.Count} costs but {scores.Count} scores.", nameof(scores));
        if (costs.Any(double.IsNaN) || scores.Any(double.IsNaN))
            throw new ArgumentException("Costs and scores must not be NaN.", nameof(costs));
        var front = new List<int>();
        for (int i = 0; i < costs.Count; i++)
        {
            bool dominated = false;
            for (int j = 0; j < costs.Count && !dominated; j++)
                dominated = j != i && Dominates(costs[j], scores[j], costs[i], scores[i]);
            if (!dominated) front.Add(i);
        }
        return [.. front.OrderBy(i => costs[i]).ThenByDescending(i => scores[i])];
    }

    /// <summary>True when the point (<paramref name="costA"/>, <paramref name="scoreA"/>) dominates
    /// (<paramref name="costB"/>, <paramref name="scoreB"/>): no costlier, no worse, and strictly better in one.</summary>
    public static bool Dominates(double costA, double scoreA, double costB, double scoreB) =>
        costA <= costB && scoreA >= scoreB && (costA < costB || scoreA > scoreB);
}

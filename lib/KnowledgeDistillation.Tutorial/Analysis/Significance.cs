namespace KnowledgeDistillation.Analysis;

/// <summary>Welch's test of the difference between two groups of runs (for example accuracies over seeds).</summary>
/// <param name="Difference">Mean of the first group minus mean of the second.</param>
/// <param name="T">Welch's t, the difference divided by its standard error <c>√(s₁²/n₁ + s₂²/n₂)</c>.</param>
/// <param name="DegreesOfFreedom">The Welch–Satterthwaite degrees of freedom,
/// <c>(s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1))</c>.</param>
/// <param name="P">The two-sided p-value from Student's t distribution with those degrees of freedom; NaN when a group
/// has a single run or neither group varies.</param>
public sealed record WelchTest(double Difference, double T, double DegreesOfFreedom, double P);

/// <summary>One method against a baseline, within a table of several such comparisons.</summary>
/// <param name="Name">The method.</param>
/// <param name="Test">Its Welch test against the baseline.</param>
/// <param name="AdjustedP">Its p-value after Holm's correction over all the table's comparisons.</param>
/// <param name="Verdict">"better", "worse", "not distinguishable" or "cannot be judged", by <see cref="Significance.Verdict"/>.</param>
public sealed record Comparison(string Name, WelchTest Test, double AdjustedP, string Verdict);

/// <summary>
/// The one rule by which every notebook calls a difference between runs real: a <b>two-sided Welch test at the 5 %
/// level</b>, with <b>Holm's correction</b> when one table compares several methods with the same baseline.
/// </summary>
/// <remarks>
/// <para>With three seeds a side, Welch's t has only about 2 to 4 degrees of freedom, so the 5 % thresholds are far above
/// the normal distribution's 1.96: |t| must exceed 4.30 at 2 degrees of freedom, 3.18 at 3 and 2.78 at 4. The p-value
/// computes that exactly instead of a rule of thumb on |t|.</para>
/// <para>Comparing nine methods with one scratch student makes nine tests; at 5 % each, the chance that at least one
/// comes out "significant" by luck alone is far above 5 %. Holm's step-down correction (Holm 1979, "A simple sequentially
/// rejective multiple test procedure") keeps that family-wise chance at 5 %: sort the m p-values, multiply the k-th
/// smallest by m − k + 1, and keep the running maximum.</para>
/// </remarks>
public static class Significance
{
    /// <summary>The significance level of every verdict: 5 %.</summary>
    public const double Alpha = 0.05;

    /// <summary>Welch's test of <paramref name="a"/> against <paramref name="b"/> (the difference is a − b).</summary>
    public static WelchTest Welch(MeanStd a, MeanStd b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        double t = a.WelchT(b);
        double va = a.Std * a.Std / a.Count, vb = b.Std * b.Std / b.Count;
        double df = (va + vb) * (va + vb) / (va * va / (a.Count - 1) + vb * vb / (b.Count - 1));
        return new WelchTest(a.Mean - b.Mean, t, df, TwoSidedP(t, df));
    }

    /// <summary>The two-sided p-value of <paramref name="t"/> under Student's t distribution with
    /// <paramref name="degreesOfFreedom"/> (any positive real number): <c>P(|T| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, 1/2)</c>, with
    /// <c>I</c> the regularised incomplete beta function. NaN for NaN input.</summary>
    public static double TwoSidedP(double t, double degreesOfFreedom)
    {
        if (double.IsNaN(t) || double.IsNaN(degreesOfFreedom) || degreesOfFreedom <= 0) return double.NaN;
        if (double.IsInfinity(t)) return 0;
        return RegularizedIncompleteBeta(degreesOfFreedom / (degreesOfFreedom + t * t), degreesOfFreedom / 2, 0.5);
    }

    /// <summary>Holm's step-down adjustment of <paramref name="p"/> (same order in and out); NaN entries stay NaN and do
    /// not count as tests.</summary>
    public static IReadOnlyList<double> Holm(IReadOnlyList<double> p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var order = Enumerable.Range(0, p.Count).Where(i => !double.IsNaN(p[i])).OrderBy(i => p[i]).ToList();
        var adjusted = p.ToArray();
        double running = 0;
        for (int k = 0; k < order.Count; k++)
        {
            running = Math.Max(running, Math.Min(1, (order.Count - k) * p[order[k]]));
            adjusted[order[k]] = running;
        }
        return adjusted;
    }

    /// <summary>The verdict of the rule: "better" or "worse" (the sign of the difference) when
    /// <paramref name="p"/> is below <see cref="Alpha"/>, "not distinguishable" otherwise, and "cannot be judged" when
    /// <paramref name="p"/> is NaN (single runs).</summary>
    public static string Verdict(double difference, double p) =>
        double.IsNaN(p) ? "cannot be judged" : p < Alpha ? (difference > 0 ? "better" : "worse") : "not distinguishable";

    /// <summary>Every method against <paramref name="baseline"/>, Holm-adjusted over all of them, with its verdict.</summary>
    public static IReadOnlyList<Comparison> CompareAll(IReadOnlyList<(string Name, MeanStd Value)> methods, MeanStd baseline)
    {
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(baseline);
        var tests = methods.Select(m => Welch(m.Value, baseline)).ToList();
        var adjusted = Holm([.. tests.Select(t => t.P)]);
        return [.. methods.Select((m, i) => new Comparison(m.Name, tests[i], adjusted[i], Verdict(tests[i].Difference, adjusted[i])))];
    }

    /// <summary>The regularised incomplete beta function <c>I_x(a, b)</c>, by its continued fraction (evaluated with
    /// Lentz's method) on the side where it converges fast.</summary>
    internal static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double logFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        return x < (a + 1) / (a + b + 2)
            ? Math.Exp(logFront) * BetaContinuedFraction(x, a, b) / a
            : 1 - Math.Exp(logFront) * BetaContinuedFraction(1 - x, b, a) / b;
    }

    static double BetaContinuedFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double result = d;
        for (int m = 1; m <= 500; m++)
        {
            // Two steps of the fraction per m: the even term d_{2m}, then the odd term d_{2m+1}.
            for (int half = 0; half < 2; half++)
            {
                double numerator = half == 0
                    ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                    : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
                d = 1 + numerator * d;
                d = 1 / (Math.Abs(d) < tiny ? tiny : d);
                c = 1 + numerator / c;
                if (Math.Abs(c) < tiny) c = tiny;
                result *= d * c;
                if (half == 1 && Math.Abs(d * c - 1) < 1e-15) return result;
            }
        }
        return result;
    }

    /// <summary>ln Γ(z) for z &gt; 0, by Lanczos' approximation (g = 7, nine coefficients; relative error about 1e-15).</summary>
    internal static double LogGamma(double z)
    {
        if (z < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * z))) - LogGamma(1 - z);
        z -= 1;
        double sum = Lanczos[0];
        for (int i = 1; i < Lanczos.Length; i++) sum += Lanczos[i] / (z + i);
        double t = z + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (z + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];
}

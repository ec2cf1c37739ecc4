using KnowledgeDistillation.Analysis;

namespace KnowledgeDistillation.Tests;

/// <summary>The statistics rule every notebook uses: Welch's test with its exact p-value, and Holm's correction.</summary>
public class SignificanceTests
{
    [Theory]
    // Closed forms: with 1 degree of freedom t is Cauchy, p = 1 − (2/π)·atan|t|; with 2, p = 1 − |t|/√(2 + t²).
    [InlineData(0.5, 1)]
    [InlineData(3.0, 1)]
    [InlineData(40.0, 1)]
    [InlineData(0.3, 2)]
    [InlineData(2.0, 2)]
    [InlineData(9.0, 2)]
    public void P_values_match_the_closed_forms_for_one_and_two_degrees_of_freedom(double t, int df)
    {
        double expected = df == 1 ? 1 - 2 / Math.PI * Math.Atan(Math.Abs(t)) : 1 - Math.Abs(t) / Math.Sqrt(2 + t * t);
        Assert.Equal(expected, Significance.TwoSidedP(t, df), 12);
        Assert.Equal(expected, Significance.TwoSidedP(-t, df), 12);
    }

    [Theory]
    // Two-sided critical values of Student's t (any statistics table): p = 0.05 and p = 0.01.
    [InlineData(12.706, 1, 0.05)]
    [InlineData(4.303, 2, 0.05)]
    [InlineData(3.182, 3, 0.05)]
    [InlineData(2.776, 4, 0.05)]
    [InlineData(2.228, 10, 0.05)]
    [InlineData(2.042, 30, 0.05)]
    [InlineData(5.841, 3, 0.01)]
    [InlineData(4.604, 4, 0.01)]
    [InlineData(3.169, 10, 0.01)]
    public void P_values_match_the_t_table(double t, int df, double p)
    {
        Assert.Equal(p, Significance.TwoSidedP(t, df), 3);
        Assert.Equal(1.0, Significance.TwoSidedP(0, df), 12);
    }

    [Fact]
    public void Welch_uses_the_Welch_Satterthwaite_degrees_of_freedom()
    {
        var a = MeanStd.Of([86.0, 87.5, 88.0]);
        var b = MeanStd.Of([85.0, 85.5, 84.0, 86.5, 85.2]);
        double va = a.Std * a.Std / 3, vb = b.Std * b.Std / 5;
        var test = Significance.Welch(a, b);
        Assert.Equal(a.WelchT(b), test.T, 12);
        Assert.Equal((va + vb) * (va + vb) / (va * va / 2 + vb * vb / 4), test.DegreesOfFreedom, 12);
        Assert.Equal(Significance.TwoSidedP(test.T, test.DegreesOfFreedom), test.P, 15);
        Assert.True(double.IsNaN(Significance.Welch(MeanStd.Of([84.0]), b).P), "a single run cannot be judged");
    }

    [Fact]
    public void Three_seeds_need_far_more_than_two_standard_errors()
    {
        // |t| = 3 with three seeds a side and equal spreads (4 degrees of freedom): p ≈ 0.04; with unequal spreads the
        // degrees of freedom fall towards 2 and the same t is no longer significant.
        var equal = Significance.Welch(new MeanStd(3, 1, 3), new MeanStd(0, 1, 3) with { Mean = 3 - 3 * Math.Sqrt(2.0 / 3) });
        Assert.Equal(4, equal.DegreesOfFreedom, 9);
        Assert.Equal(3, equal.T, 9);
        Assert.InRange(equal.P, 0.039, 0.041);
        Assert.Equal("better", Significance.Verdict(equal.Difference, equal.P));
        var unequal = Significance.Welch(new MeanStd(1, 1.7, 3), new MeanStd(0, 0.01, 3));
        Assert.True(unequal.DegreesOfFreedom < 2.1 && unequal.P > 0.05, $"df {unequal.DegreesOfFreedom}, p {unequal.P}");
        Assert.Equal("not distinguishable", Significance.Verdict(unequal.Difference, unequal.P));
        Assert.Equal("worse", Significance.Verdict(-1, 0.01));
        Assert.Equal("cannot be judged", Significance.Verdict(1, double.NaN));
    }

    [Fact]
    public void Holm_multiplies_the_sorted_p_values_and_keeps_the_running_maximum()
    {
        var adjusted = Significance.Holm([0.01, 0.04, 0.03, 0.005, double.NaN]);
        Assert.Equal(0.03, adjusted[0], 12);  // second smallest × 3
        Assert.Equal(0.06, adjusted[1], 12);  // largest × 1 = 0.04, raised to the running maximum 0.06
        Assert.Equal(0.06, adjusted[2], 12);  // third smallest × 2
        Assert.Equal(0.02, adjusted[3], 12);  // smallest × 4 (four defined tests)
        Assert.True(double.IsNaN(adjusted[4]));
        Assert.Equal(1.0, Significance.Holm([0.6, 0.7])[0], 12);  // capped at 1
    }

    [Fact]
    public void Compare_all_corrects_over_the_whole_table()
    {
        // Each method alone would pass at 5 %; over nine comparisons only the strongest survives Holm's correction.
        var baseline = new MeanStd(80, 0.5, 3);
        var methods = Enumerable.Range(0, 9).Select(i => ($"m{i}", new MeanStd(i == 0 ? 85 : 81.6, 0.5, 3))).ToList();
        var comparisons = Significance.CompareAll(methods, baseline);
        Assert.All(comparisons, c => Assert.True(c.Test.P < 0.05, $"{c.Name}: p {c.Test.P}"));
        Assert.Equal("better", comparisons[0].Verdict);
        Assert.All(comparisons.Skip(1), c => Assert.Equal("not distinguishable", c.Verdict));
    }
}

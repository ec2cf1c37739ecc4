using KnowledgeDistillation.Exercises;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebook 09: right answers pass, and each typical mistake is named.</summary>
public class ReproductionChecksTests
{
    static double Mean(IReadOnlyList<double> x) => x.Average();
    static double SumSquares(IReadOnlyList<double> x) => x.Sum(v => (v - Mean(x)) * (v - Mean(x)));

    [Fact]
    public void Welch_t_reference_answer_passes()
    {
        CheckAssert.Passes(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(a) - Mean(b)) / Math.Sqrt(SumSquares(a) / (a.Count - 1) / a.Count + SumSquares(b) / (b.Count - 1) / b.Count)));
    }

    [Fact]
    public void Welch_t_mistakes_are_named()
    {
        CheckAssert.FailsWith(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(a) - Mean(b)) / Math.Sqrt(SumSquares(a) / a.Count / a.Count + SumSquares(b) / b.Count / b.Count)), "divided by n − 1");
        CheckAssert.FailsWith(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(a) - Mean(b)) / Math.Sqrt((SumSquares(a) + SumSquares(b)) / (a.Count + b.Count - 2) * (1.0 / a.Count + 1.0 / b.Count))), "pooled");
        CheckAssert.FailsWith(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(a) - Mean(b)) / (SumSquares(a) / (a.Count - 1) / a.Count + SumSquares(b) / (b.Count - 1) / b.Count)), "square root");
        CheckAssert.FailsWith(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(b) - Mean(a)) / Math.Sqrt(SumSquares(a) / (a.Count - 1) / a.Count + SumSquares(b) / (b.Count - 1) / b.Count)), "sign is reversed");
        CheckAssert.FailsWith(ReproductionChecks.CheckWelchT((a, b) =>
            (Mean(b) - Mean(a)) / (SumSquares(a) / a.Count / a.Count + SumSquares(b) / b.Count / b.Count)), "3 things to fix");
        CheckAssert.FailsWith(ReproductionChecks.CheckWelchT((a, b) => Mean(a) - Mean(b)), "Welch's t is");
        CheckAssert.FailsWith(ReproductionChecks.CheckWelchT((a, b) => throw new InvalidOperationException("boom")), "threw InvalidOperationException");
    }

    [Fact]
    public void Gap_closed_reference_answer_passes()
    {
        CheckAssert.Passes(ReproductionChecks.CheckGapClosed((t, s, d) => t > s ? (d - s) / (t - s) : double.NaN));
    }

    [Fact]
    public void Gap_closed_mistakes_are_named()
    {
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => (d - s) / t), "not by the teacher's accuracy");
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => (d - s) / (t - d)), "what is left");
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => d - s), "gain in points");
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => 100 * (d - s) / (t - s)), "not a percentage");
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => Math.Abs(d - s) / (t - s)), "RepDistiller", "sign is reversed");
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => (d - s) / (t - s)), "no gap to close", "double.NaN");
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => t > s ? 1 / (t - s) * (d - s) * 0.5 : double.NaN), "the share is");
        CheckAssert.FailsWith(ReproductionChecks.CheckGapClosed((t, s, d) => t > s ? (d - s) / (t - s) : throw new DivideByZeroException()), "return double.NaN there");
    }
}

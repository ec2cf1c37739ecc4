using KnowledgeDistillation.Training;
using Microsoft.Data.Analysis;

namespace KnowledgeDistillation.Analysis;

/// <summary>The final test result of one run with one seed.</summary>
/// <param name="Run">The run's name, shared by its seeds (for example "student from scratch").</param>
/// <param name="Seed">The seed.</param>
/// <param name="Accuracy">Test accuracy, 0 to 1.</param>
/// <param name="TestCount">The number of test images.</param>
public sealed record SeedResult(string Run, long Seed, double Accuracy, int TestCount)
{
    /// <summary>Misclassified test images, as Hinton et al. (2015) report results.</summary>
    public double Errors => Math.Round((1 - Accuracy) * TestCount);

    /// <summary>The result of <paramref name="result"/>'s final evaluation.</summary>
    public static SeedResult From(string run, long seed, TrainingResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new SeedResult(run, seed, result.Final.Accuracy, result.Final.Count);
    }
}

/// <summary>A mean and a sample standard deviation over <paramref name="Count"/> values.</summary>
/// <param name="Mean">The mean.</param>
/// <param name="Std">The sample standard deviation (divided by n − 1); NaN for a single value.</param>
/// <param name="Count">How many values.</param>
public sealed record MeanStd(double Mean, double Std, int Count)
{
    /// <summary>The statistics of <paramref name="values"/>.</summary>
    /// <exception cref="ArgumentException">There are no values.</exception>
    public static MeanStd Of(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var v = values.ToList();
        if (v.Count == 0) throw new ArgumentException("Mean and standard deviation need at least one value.", nameof(values));
        double mean = v.Average();
        double std = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : double.NaN;
        return new MeanStd(mean, std, v.Count);
    }

    /// <summary>
    /// Welch's t statistic of the difference of the means, <c>(m₁ − m₂) / √(s₁²/n₁ + s₂²/n₂)</c>: how many standard errors
    /// apart this mean and <paramref name="other"/>'s are. NaN when either has a single value (no standard deviation).
    /// </summary>
    public double WelchT(MeanStd other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return (Mean - other.Mean) / Math.Sqrt(Std * Std / Count + other.Std * other.Std / other.Count);
    }

    /// <summary>"mean ± std" with <paramref name="format"/> (for example "F2"), or the mean alone for a single value.</summary>
    public string Format(string format = "F2") => double.IsNaN(Std) ? Mean.ToString(format) : $"{Mean.ToString(format)} ± {Std.ToString(format)}";

    /// <inheritdoc />
    public override string ToString() => Format("G4");
}

/// <summary>The statistics of one run over its seeds.</summary>
/// <param name="Run">The run's name.</param>
/// <param name="AccuracyPercent">Test accuracy in percent, over the seeds.</param>
/// <param name="Errors">Misclassified test images, over the seeds.</param>
/// <param name="TestCount">The number of test images.</param>
public sealed record RunSummary(string Run, MeanStd AccuracyPercent, MeanStd Errors, int TestCount);

/// <summary>
/// Results over several seeds, as mean ± sample standard deviation: the table of Hinton et al. (2015) with error bars.
/// A single seed says little: on Fashion-MNIST two seeds of the same small student differ by a few tenths of a point,
/// about as much as distillation gains.
/// </summary>
public static class SeedSummary
{
    /// <summary>One summary per run, in the order the runs first appear.</summary>
    /// <exception cref="ArgumentException">A run's seeds were evaluated on test sets of different sizes.</exception>
    public static IReadOnlyList<RunSummary> Summarize(IEnumerable<SeedResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return results.GroupBy(r => r.Run).Select(g =>
        {
            var counts = g.Select(r => r.TestCount).Distinct().ToList();
            if (counts.Count != 1)
                throw new ArgumentException($"Run '{g.Key}' was tested on sets of different sizes ({string.Join(", ", counts)}); its seeds are not comparable.", nameof(results));
            return new RunSummary(g.Key, MeanStd.Of(g.Select(r => 100 * r.Accuracy)), MeanStd.Of(g.Select(r => r.Errors)), counts[0]);
        }).ToList();
    }

    /// <summary>
    /// A table with one row per run: seeds, test accuracy % (mean, std), test errors (mean, std) and the number of test
    /// images. The standard deviation is NaN for a run with a single seed (a loaded teacher, say).
    /// </summary>
    public static DataFrame Table(IEnumerable<SeedResult> results)
    {
        var summaries = Summarize(results);
        return new DataFrame(
            new StringDataFrameColumn("run", summaries.Select(s => s.Run)),
            new PrimitiveDataFrameColumn<int>("seeds", summaries.Select(s => s.AccuracyPercent.Count)),
            new PrimitiveDataFrameColumn<double>("accuracy %", summaries.Select(s => Math.Round(s.AccuracyPercent.Mean, 2))),
            new PrimitiveDataFrameColumn<double>("± std", summaries.Select(s => Math.Round(s.AccuracyPercent.Std, 2))),
            new PrimitiveDataFrameColumn<double>("test errors", summaries.Select(s => Math.Round(s.Errors.Mean, 1))),
            new PrimitiveDataFrameColumn<double>("errors ± std", summaries.Select(s => Math.Round(s.Errors.Std, 1))),
            new PrimitiveDataFrameColumn<int>("test images", summaries.Select(s => s.TestCount)));
    }
}

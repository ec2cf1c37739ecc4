using KnowledgeDistillation.Data;
using KnowledgeDistillation.Language;
using KnowledgeDistillation.Training;
using Microsoft.Data.Analysis;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tables;

/// <summary>
/// Tables (Microsoft.Data.Analysis DataFrames, which the notebooks display as tables) of the core library's data sets
/// and results. They live here, not on the records themselves, so that the core package depends on TorchSharp alone.
/// </summary>
public static class DataTables
{
    /// <summary>One row per class: label, name, image count and share of the split.</summary>
    /// <param name="data">Images and labels.</param>
    /// <param name="classNames">Names by label; Fashion-MNIST's when null.</param>
    public static DataFrame ClassCounts(LabelledImages data, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        classNames ??= FashionMnist.ClassNames;
        using var counts = bincount(data.Labels.cpu(), minlength: classNames.Count);
        var n = counts.data<long>().ToArray();
        if (n.Length != classNames.Count)
            throw new ArgumentException($"Labels go up to {n.Length - 1}, but only {classNames.Count} class names were given.", nameof(classNames));
        long total = n.Sum();
        return new DataFrame(
            new PrimitiveDataFrameColumn<int>("label", Enumerable.Range(0, n.Length)),
            new StringDataFrameColumn("class", classNames),
            new PrimitiveDataFrameColumn<long>("count", n),
            new PrimitiveDataFrameColumn<double>("share %", n.Select(c => Math.Round(100.0 * c / total, 2))));
    }

    /// <summary>A run's history: one row per epoch, one column per metric and term.</summary>
    public static DataFrame ToDataFrame(this TrainingResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return ToDataFrame(result.History);
    }

    /// <summary>One row per epoch; term columns are named <c>term:NAME</c>.</summary>
    public static DataFrame ToDataFrame(this IReadOnlyList<EpochRecord> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var columns = new List<DataFrameColumn>
        {
            new PrimitiveDataFrameColumn<int>("epoch", history.Select(h => h.Epoch)),
            new PrimitiveDataFrameColumn<double>("lr", history.Select(h => h.LearningRate)),
            new PrimitiveDataFrameColumn<double>("train_loss", history.Select(h => h.TrainLoss)),
            new PrimitiveDataFrameColumn<double>("train_acc", history.Select(h => h.TrainAccuracy)),
            new PrimitiveDataFrameColumn<double>("test_loss", history.Select(h => h.TestLoss)),
            new PrimitiveDataFrameColumn<double>("test_acc", history.Select(h => h.TestAccuracy)),
            new PrimitiveDataFrameColumn<double>("test_ece", history.Select(h => h.TestEce)),
            new PrimitiveDataFrameColumn<double>("seconds", history.Select(h => h.Seconds)),
            new PrimitiveDataFrameColumn<double>("rss_mb", history.Select(h => h.RssMegabytes)),
        };
        foreach (var name in history.SelectMany(h => h.Terms.Keys).Distinct())
            columns.Add(new PrimitiveDataFrameColumn<double>("term:" + name, history.Select(h => h.Terms.TryGetValue(name, out var v) ? v : double.NaN)));
        return new DataFrame(columns);
    }

    /// <summary>A reliability diagram's bins: edges, count, mean confidence, accuracy and the gap.</summary>
    public static DataFrame ToDataFrame(this ReliabilityData reliability)
    {
        ArgumentNullException.ThrowIfNull(reliability);
        var bins = reliability.Bins;
        return new DataFrame(
            new StringDataFrameColumn("bin", bins.Select(b => $"[{b.Lower:F3}, {b.Upper:F3}{(b.Index == bins.Count - 1 ? "]" : ")")}")),
            new PrimitiveDataFrameColumn<long>("count", bins.Select(b => b.Count)),
            new PrimitiveDataFrameColumn<double>("confidence", bins.Select(b => Math.Round(b.MeanConfidence, 4))),
            new PrimitiveDataFrameColumn<double>("accuracy", bins.Select(b => Math.Round(b.Accuracy, 4))),
            new PrimitiveDataFrameColumn<double>("accuracy − confidence", bins.Select(b => Math.Round(b.Gap, 4))));
    }

    /// <summary>A language-model run's history: step, epoch, lr, loss, seconds.</summary>
    public static DataFrame ToDataFrame(this LmTrainingResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var history = result.History;
        return new DataFrame(
            new PrimitiveDataFrameColumn<int>("step", history.Select(h => h.Step)),
            new PrimitiveDataFrameColumn<int>("epoch", history.Select(h => h.Epoch)),
            new PrimitiveDataFrameColumn<double>("lr", history.Select(h => h.LearningRate)),
            new PrimitiveDataFrameColumn<double>("loss", history.Select(h => h.Loss)),
            new PrimitiveDataFrameColumn<double>("seconds", history.Select(h => h.Seconds)));
    }
}

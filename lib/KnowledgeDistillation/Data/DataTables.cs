using Microsoft.Data.Analysis;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Data;

/// <summary>Tables (Microsoft.Data.Analysis DataFrames) that summarise a data set.</summary>
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
}

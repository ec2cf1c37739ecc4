using KnowledgeDistillation.Analysis;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Soft-label statistics on small hand-made distributions whose answers can be worked out by hand.</summary>
public class SoftLabelStatsTests
{
    // Three classes, five images: two of class 0, two of class 1 (one misclassified), one of class 2.
    static readonly Tensor P = tensor(new double[,]
    {
        { 0.90, 0.08, 0.02 },
        { 0.70, 0.20, 0.10 },
        { 0.10, 0.80, 0.10 },
        { 0.60, 0.30, 0.10 },
        { 0.00, 0.00, 1.00 },
    });
    static readonly Tensor Y = tensor(new long[] { 0, 0, 1, 1, 2 });
    static readonly string[] Names = ["a", "b", "c"];

    [Fact]
    public void One_hot_rows_are_float_distributions_at_the_labels()
    {
        var h = SoftLabelStats.OneHot(Y, 3);
        Assert.Equal(ScalarType.Float32, h.dtype);
        Assert.Equal(new long[] { 5, 3 }, h.shape);
        Assert.True(h.sum(1).allclose(ones(5)));
        Assert.Equal(Y.data<long>().ToArray(), h.argmax(1).data<long>().ToArray());
        Assert.Throws<ArgumentException>(() => SoftLabelStats.OneHot(tensor(new long[] { 0, 3 }), 3));
        Assert.Throws<ArgumentException>(() => SoftLabelStats.OneHot(tensor(new[] { 0.0f }), 3));
    }

    [Fact]
    public void Average_soft_labels_are_per_class_means()
    {
        var s = SoftLabelStats.ToMatrix(SoftLabelStats.AverageSoftLabels(P, Y));
        double[,] expected = { { 0.80, 0.14, 0.06 }, { 0.35, 0.55, 0.10 }, { 0.0, 0.0, 1.0 } };
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(expected[i, j], s[i, j], 1e-12);
    }

    [Fact]
    public void Correct_only_drops_the_misclassified_image()
    {
        var s = SoftLabelStats.ToMatrix(SoftLabelStats.AverageSoftLabels(P, Y, correctOnly: true));
        Assert.Equal(0.80, s[1, 1], 1e-12); // only image 2 remains for class 1
        Assert.Equal(0.10, s[1, 0], 1e-12);
        var e = Assert.Throws<ArgumentException>(() => SoftLabelStats.AverageSoftLabels(P, tensor(new long[] { 0, 0, 0, 0, 2 })));
        Assert.Contains("Class 1 has no image", e.Message);
    }

    [Fact]
    public void Most_similar_pairs_are_the_largest_off_diagonal_entries()
    {
        var pairs = SoftLabelStats.MostSimilarPairs(SoftLabelStats.AverageSoftLabels(P, Y), 2, Names);
        Assert.Equal((1, 0), (pairs[0].TrueClass, pairs[0].OtherClass));
        Assert.Equal(0.35, pairs[0].Probability, 1e-12);
        Assert.Equal((0, 1), (pairs[1].TrueClass, pairs[1].OtherClass));
        Assert.Equal("b → a: 35.00 %", pairs[0].ToString());
    }

    [Fact]
    public void Top_classes_and_descriptions()
    {
        Assert.Equal("a 70.0 %, b 20.0 %", SoftLabelStats.Describe(P[1], 2, Names));
        var top = SoftLabelStats.TopClasses(P[2], 1, Names).Single();
        Assert.Equal((1, "b"), (top.Class, top.Name));
        Assert.Throws<ArgumentException>(() => SoftLabelStats.Describe(P, 2, Names));
        Assert.Throws<ArgumentException>(() => SoftLabelStats.Describe(P[0], 2, ["only one"]));
    }

    [Fact]
    public void Clear_and_ambiguous_items()
    {
        Assert.Equal(new long[] { 0, 1 }, SoftLabelStats.MostConfident(P, Y, 0, 2));
        Assert.Equal(new long[] { 2 }, SoftLabelStats.MostConfident(P, Y, 1, 1)); // image 3 is misclassified
        Assert.Throws<ArgumentException>(() => SoftLabelStats.MostConfident(P, Y, 1, 2));
        Assert.Equal(new long[] { 3, 2 }, SoftLabelStats.MostAmbiguous(P, Y, 1, 2)); // 0.6/0.3/0.1 is flatter than 0.1/0.8/0.1
        Assert.Equal(new long[] { 1 }, SoftLabelStats.MostAmbiguous(P, Y, 0, 1));
    }

    [Fact]
    public void Items_torn_between_two_classes()
    {
        // Class 1: image 2 is 0.8 / 0.1 (score min(0.8, 0.1) = 0.1), image 3 is 0.3 / 0.6 (score 0.3).
        Assert.Equal(new long[] { 3, 2 }, SoftLabelStats.MostConfusedWith(P, Y, 1, [0, 1], 2));
        // Class 0 against class 2 only: image 0 scores 0.02, image 1 scores 0.1.
        Assert.Equal(new long[] { 1 }, SoftLabelStats.MostConfusedWith(P, Y, 0, [2]));
        Assert.Throws<ArgumentException>(() => SoftLabelStats.MostConfusedWith(P, Y, 0, [0]));
    }

    [Fact]
    public void Wrong_classes_above_a_threshold()
    {
        Assert.Equal(new long[] { 2, 2, 2, 2, 0 }, SoftLabelStats.WrongClassesAbove(P, Y, 0.01).data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1, 0, 1, 0 }, SoftLabelStats.WrongClassesAbove(P, Y, 0.15).data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 0, 0, 0 }, SoftLabelStats.WrongClassesAbove(SoftLabelStats.OneHot(Y, 3), Y, 0.0).data<long>().ToArray());
    }

    [Fact]
    public void Information_table_has_a_row_per_class_and_a_total()
    {
        var table = SoftLabelStats.InformationByClass(P, Y, Names);
        Assert.Equal(4, table.Rows.Count);
        Assert.Equal("all", table["class"][3]);
        Assert.Equal(50.0, (double)table["teacher accuracy %"][1]!);
        Assert.Equal(80.0, (double)table["teacher accuracy %"][3]!);
        Assert.Equal(0.0, (double)table["entropy, soft label"][2]!); // a one-hot soft label
        Assert.Equal(0.0, (double)table["entropy, hard label"][0]!);
        Assert.Equal(80.0, (double)table["mean p(true class) %"][0]!);
        Assert.Equal(1.6, (double)table["wrong classes > 1 %"][3]!);
    }

    [Fact]
    public void Shape_mismatches_are_rejected_with_a_message()
    {
        var e = Assert.Throws<ArgumentException>(() => SoftLabelStats.AverageSoftLabels(P, tensor(new long[] { 0, 1 })));
        Assert.Contains("5 distributions but 2 labels", e.Message);
        Assert.Throws<ArgumentException>(() => SoftLabelStats.AverageSoftLabels(P[0], Y));
    }
}

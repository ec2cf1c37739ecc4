using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>A learner's own tensors as a data set: checked like the Fashion-MNIST files, then usable by the trainer.</summary>
public class LabelledImagesTests
{
    static Tensor Images(long n = 8, long channels = 1, long side = 28) => randn(n, channels, side, side);
    static Tensor Labels(params long[] values) => tensor(values, dtype: ScalarType.Int64);

    [Fact]
    public void Valid_tensors_are_wrapped_and_owned()
    {
        var images = Images(4);
        var labels = Labels(0, 1, 2, 9);
        var data = new LabelledImages(images, labels, Split.Test);
        Assert.Equal(4, data.Count);
        Assert.Equal(Split.Test, data.Split);
        Assert.Same(images, data.Images);
        data.Dispose();
        Assert.True(images.IsInvalid);
        Assert.True(labels.IsInvalid);
    }

    public static TheoryData<string, Func<(Tensor Images, Tensor Labels)>, string> BadInputs() => new()
    {
        { "3-D images", () => (randn(4, 28, 28), Labels(0, 1, 2, 3)), "4 dimensions [N, channels, height, width]" },
        { "byte images", () => (zeros(4, 1, 28, 28, dtype: ScalarType.Byte), Labels(0, 1, 2, 3)), "must be floating point" },
        { "no images", () => (randn(0, 1, 28, 28), Labels()), "no images" },
        { "int32 labels", () => (Images(4), tensor(new[] { 0, 1, 2, 3 })), "int64 of shape [N]" },
        { "2-D labels", () => (Images(4), zeros(4, 1, dtype: ScalarType.Int64)), "int64 of shape [N]" },
        { "too few labels", () => (Images(4), Labels(0, 1, 2)), "4 images but 3 labels" },
        { "label too large", () => (Images(4), Labels(0, 1, 10, 3)), "Label 10 at index 2 is out of range 0..9" },
        { "negative label", () => (Images(4), Labels(0, -1, 2, 3)), "Label -1 at index 1 is out of range 0..9" },
        { "NaN pixel", () => { var x = Images(4); x[1, 0, 3, 3] = float.NaN; return (x, Labels(0, 1, 2, 3)); }, "NaN or infinite" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_tensors_are_rejected_with_a_message_that_says_what_is_wrong(string label, Func<(Tensor Images, Tensor Labels)> make, string expected)
    {
        var (images, labels) = make();
        using (images)
        using (labels)
        {
            var e = Assert.Throws<ArgumentException>(() => new LabelledImages(images, labels));
            Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{label}: {e.Message}");
        }
    }

    [Fact]
    public void The_number_of_classes_sets_the_label_range()
    {
        using var images = Images(3);
        using var labels = Labels(0, 1, 2);
        Assert.Contains("out of range 0..1", Assert.Throws<ArgumentException>(() => new LabelledImages(images, labels, classes: 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LabelledImages(images, labels, classes: 0));
    }

    [Fact]
    public void A_student_distils_on_data_built_from_tensors()
    {
        // Ten noisy class templates of 3×16×16 (not Fashion-MNIST's shape): the student learns them from a teacher's logits.
        manual_seed(3);
        using var templates = randn(10, 3, 16, 16);
        using var trainLabels = arange(200, dtype: ScalarType.Int64).remainder(10);
        using var testLabels = arange(100, dtype: ScalarType.Int64).remainder(10);
        using var train = new LabelledImages(templates.index_select(0, trainLabels).add(randn(200, 3, 16, 16).mul(0.5)), trainLabels.clone());
        using var test = new LabelledImages(templates.index_select(0, testLabels).add(randn(100, 3, 16, 16).mul(0.5)), testLabels.clone(), Split.Test);
        using var teacherLogits = nn.functional.one_hot(trainLabels, 10).to_type(ScalarType.Float32).mul(5);
        var student = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10));
        using var objective = new DistillationObjective(DistillationTerms.CrossEntropy(0.5), DistillationTerms.Soft(2, 0.5));
        var result = Trainer.Distill(student, teacherLogits, objective, train, test,
            new TrainingOptions { Epochs = 3, BatchSize = 20, LearningRate = 0.01, Device = "cpu" });
        Assert.Equal(3, result.History.Count);
        Assert.True(result.Final.Accuracy > 0.9, $"accuracy {result.Final.Accuracy}");
    }
}

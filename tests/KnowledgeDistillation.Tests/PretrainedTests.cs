using KnowledgeDistillation.Data;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Tests;

/// <summary>The shipped teachers load, match their SHA-256, and score the accuracy their manifests document.</summary>
public class PretrainedTests
{
    public static TheoryData<string> Teachers() => ["cnn-teacher", "mlp-teacher"];

    [Theory]
    [MemberData(nameof(Teachers))]
    public void Shipped_teacher_scores_its_documented_accuracy(string name)
    {
        var directory = Path.Combine(Repo.Root, "datasets", "pretrained");
        var (model, manifest) = Pretrained.Load(name, directory);
        using var test = FashionMnist.Load(Split.Test);
        var result = Evaluator.Evaluate(model, test);
        // Within 0.1 percentage point: the same weights and data give the same predictions up to float summation order.
        Assert.InRange(result.Accuracy, manifest.TestAccuracy - 0.001, manifest.TestAccuracy + 0.001);
        Assert.Equal(name, manifest.Name);
        Assert.StartsWith("kd train-teacher", manifest.Command);
        Assert.False(model.training);
    }

    [Fact]
    public void A_damaged_weights_file_is_refused()
    {
        using var dir = new TempDirectory();
        var source = Path.Combine(Repo.Root, "datasets", "pretrained");
        File.Copy(Path.Combine(source, "cnn-teacher.json"), dir.File("cnn-teacher.json"));
        var bytes = File.ReadAllBytes(Path.Combine(source, "cnn-teacher.bin"));
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(dir.File("cnn-teacher.bin"), bytes);
        var e = Assert.Throws<InvalidDataException>(() => Pretrained.Load("cnn-teacher", dir.Path));
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public void A_missing_teacher_says_how_to_train_one()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => Pretrained.Load("cnn-teacher", dir.Path));
        Assert.Contains("kd train-teacher", e.Message);
    }
}

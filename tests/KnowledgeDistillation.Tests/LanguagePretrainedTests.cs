using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Language;

namespace KnowledgeDistillation.Tests;

/// <summary>The shipped chain-of-thought teacher loads, matches its SHA-256, and scores the accuracy its manifest documents.</summary>
public class LanguagePretrainedTests
{
    [Fact]
    public void Shipped_language_teacher_scores_its_documented_accuracy()
    {
        var directory = Path.Combine(Repo.Root, "datasets", "pretrained");
        var (teacher, manifest) = LmCheckpoint.Load(LmExperiment.TeacherName, directory);
        using (teacher)
        {
            Assert.Equal(TinyGptConfig.Teacher(), manifest.Config);
            Assert.Equal(teacher.ParameterCount(), manifest.Parameters);
            Assert.Equal(ReasoningFormat.ChainOfThought, manifest.Format);
            Assert.False(teacher.training);
            // The manifest's splits regenerate the same problems (seeded), so this is the documented test set.
            var splits = AdditionTask.CreateSplits(manifest.Splits);
            var result = LmEvaluator.ExactMatch(teacher, splits.Test);
            // Within 1 percentage point: greedy decoding can flip a near-tie when float sums run in another order
            // (another thread count or CPU), which changes at most a few of the 500 answers.
            Assert.InRange(result.Accuracy, manifest.TestAccuracy - 0.01, manifest.TestAccuracy + 0.01);
        }
    }
}

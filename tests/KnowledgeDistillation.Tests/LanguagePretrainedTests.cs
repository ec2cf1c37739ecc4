using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Language;
using TorchSharp;

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

    [Fact]
    public void Students_of_several_seeds_share_the_teachers_chains_and_logits_and_come_out_the_same()
    {
        var (teacher, manifest) = LmCheckpoint.Load(LmExperiment.TeacherName, Path.Combine(Repo.Root, "datasets", "pretrained"));
        using (teacher)
        {
            var splits = AdditionTask.CreateSplits(manifest.Splits with { Train = 96, Validation = 8, Test = 8 });
            var settings = LmExperimentSettings.Quick with { Student = LanguageTrainingTests.Short with { Steps = 3 }, EvaluationProblems = 8 };
            using var shared = new LmTeacherOutputs(teacher, splits.Train);
            foreach (var mode in new[] { LmDistillationMode.SequenceKD, LmDistillationMode.TokenKD })
            {
                var reports = new List<LmStudentReport>();
                foreach (long seed in new long[] { 0, 1 })
                {
                    // The library's plain path, which samples and computes the logits inside the run.
                    torch.manual_seed(seed);
                    using var alone = TinyGpt.Student();
                    var aloneResult = LmTrainer.Distill(mode, alone, teacher, splits.Train, settings.Student with { Seed = seed }, settings.Distillation);
                    var (withShared, sharedReport) = LmExperiment.RunStudent(mode, teacher, splits, settings, seed, shared: shared);
                    using (withShared)
                    {
                        Assert.All(alone.parameters().Zip(withShared.parameters()), p => Assert.True(p.First.eq(p.Second).all().item<bool>(), $"{mode}, seed {seed}: the weights differ"));
                        Assert.Equal(aloneResult.Training.History.Select(h => h.Loss), sharedReport.Result.Training.History.Select(h => h.Loss));
                        if (mode == LmDistillationMode.SequenceKD)
                            Assert.Equal(aloneResult.Samples!.Accepted, sharedReport.Result.Samples!.Accepted);
                    }
                    reports.Add(sharedReport);
                }
                // The first student with the shared outputs waited for the teacher; the second did not.
                Assert.True(reports[0].TeacherSeconds > 0, $"{mode}: the first run computes the teacher's outputs");
                Assert.Equal(0, reports[1].TeacherSeconds);
                // Without shared outputs every run waits for the teacher, and says how long.
                var (own, ownReport) = LmExperiment.RunStudent(mode, teacher, splits, settings, seed: 0);
                own.Dispose();
                Assert.True(ownReport.TeacherSeconds > 0, $"{mode}: a run without shared outputs waits for the teacher");
                Assert.InRange(ownReport.StudentSeconds, 0, ownReport.TrainingSeconds);
            }
            Assert.Equal(2, shared.Computations); // the chains once, the logits once

            using var other = LanguageModelTests.Tiny(seed: 1);
            var e = Assert.Throws<ArgumentException>(() => LmExperiment.RunStudent(LmDistillationMode.TokenKD, other, splits, settings, shared: shared));
            Assert.Contains("another teacher", e.Message);
            var otherSplits = AdditionTask.CreateSplits(manifest.Splits with { Seed = manifest.Splits.Seed + 1, Train = 96, Validation = 8, Test = 8 });
            e = Assert.Throws<ArgumentException>(() => LmExperiment.RunStudent(LmDistillationMode.SequenceKD, teacher, otherSplits, settings, shared: shared));
            Assert.Contains("other training problems", e.Message);
            // Regimes without a teacher ignore the shared outputs.
            LmExperiment.RunStudent(LmDistillationMode.AnswersOnly, null, otherSplits, settings, shared: shared).Student.Dispose();
        }
    }
}

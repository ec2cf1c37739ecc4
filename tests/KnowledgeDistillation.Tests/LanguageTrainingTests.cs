using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Language;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Training, the four student regimes, evaluation, checkpoints and the shipped language-model teacher.</summary>
public class LanguageTrainingTests
{
    static readonly CharVocabulary V = CharVocabulary.Default;
    static readonly AdditionSplits Splits = AdditionTask.CreateSplits(new AdditionSplitOptions(Train: 256, Validation: 32, Test: 32));
    internal static readonly TrainingOptions Short = LmTrainer.DefaultOptions with
    {
        Steps = 30, BatchSize = 32, LearningRate = 1e-2, WarmupSteps = 5, ProgressEveryBatches = 10, Device = "cpu",
    };

    [Fact]
    public void A_short_run_lowers_the_loss_and_is_deterministic()
    {
        var examples = AdditionTask.Examples(Splits.Train, ReasoningFormat.ChainOfThought);
        var reports = new List<TrainingProgress>();
        using var a = LanguageModelTests.Tiny(seed: 3);
        double before = LmEvaluator.TokenLoss(a, examples);
        var first = LmTrainer.Train(a, V, examples, Short, new TrainingCallbacks { Progress = reports.Add });
        double after = LmEvaluator.TokenLoss(a, examples);
        Assert.True(after < before - 0.5, $"token loss {before:F3} -> {after:F3}");
        Assert.Equal(30, first.History.Count);
        Assert.Equal(Enumerable.Range(1, 30), first.History.Select(h => h.Step));
        Assert.Equal(4, first.Epochs.Count); // 256 / 32 = 8 steps an epoch: 8, 8, 8, 6
        Assert.Equal(6, first.Epochs[^1].Steps);
        // Progress every 10 steps of the run, and at the end of each epoch (with its record); the last epoch is partial.
        Assert.Equal([8, 10, 16, 20, 24, 30], reports.Select(r => r.Step));
        Assert.Equal([8, 16, 24, 30], reports.Where(r => r.Completed is not null).Select(r => r.Step));
        Assert.All(reports, r => Assert.Equal(30, r.Steps));
        Assert.Equal(6, reports[^1].Batches);
        Assert.Equal(1.0, reports[^1].Fraction);
        // An epoch's mean step loss and its record's loss per sequence agree where its batches are all full.
        Assert.Equal(first.Epochs[0].MeanLoss, reports[0].Completed!.TrainLoss, 1e-12);

        using var b = LanguageModelTests.Tiny(seed: 3);
        var second = LmTrainer.Train(b, V, examples, Short);
        Assert.Equal(first.History.Select(h => h.LearningRate), second.History.Select(h => h.LearningRate));
        Assert.Equal(first.History.Select(h => h.Loss), second.History.Select(h => h.Loss));
    }

    [Fact]
    public void The_learning_rate_warms_up_then_decays_by_cosine()
    {
        var o = new TrainingOptions { Steps = 110, LearningRate = 1.0, Schedule = ScheduleKind.WarmupCosine, WarmupSteps = 10, FinalLearningRateFraction = 0.1 };
        Assert.Equal(0.1, o.LearningRateAtStep(1, 110), 12);
        Assert.Equal(1.0, o.LearningRateAtStep(10, 110), 12);
        Assert.Equal(0.55, o.LearningRateAtStep(60, 110), 12);
        Assert.Equal(0.1, o.LearningRateAtStep(110, 110), 12);
        // The rate changes every step, so there is no rate of an epoch to ask for.
        Assert.Throws<InvalidOperationException>(() => o.LearningRateAt(1));
        // The language model's defaults use this schedule.
        Assert.Equal((ScheduleKind.WarmupCosine, OptimizerKind.AdamW, 1.0), (LmTrainer.DefaultOptions.Schedule, LmTrainer.DefaultOptions.Optimizer, LmTrainer.DefaultOptions.ClipGradNorm));
    }

    [Fact]
    public void Every_regime_trains_the_student_and_leaves_the_teacher_alone()
    {
        using var teacher = LanguageModelTests.Tiny(seed: 1, width: 32);
        var teacherBefore = teacher.parameters().Select(p => p.clone()).ToList();
        var options = Short with { Steps = 4 };
        foreach (var mode in new[] { LmDistillationMode.AnswersOnly, LmDistillationMode.GroundTruthChains, LmDistillationMode.TokenKD, LmDistillationMode.OnPolicyKD })
        {
            using var student = LanguageModelTests.Tiny(seed: 2);
            var studentBefore = student.parameters().Select(p => p.clone()).ToList();
            var result = LmTrainer.Distill(mode, student, teacher, Splits.Train, options);
            Assert.Equal(mode, result.Mode);
            Assert.Equal(4, result.Training.History.Count);
            Assert.Null(result.Samples);
            Assert.Contains(student.parameters().Zip(studentBefore), p => !p.First.allclose(p.Second, rtol: 0, atol: 0));
        }
        Assert.All(teacher.parameters().Zip(teacherBefore), p => Assert.True(p.First.allclose(p.Second, rtol: 0, atol: 0)));
        Assert.True(teacher.training, "the teacher gets its mode back");
        foreach (var t in teacherBefore) t.Dispose();

        var e = Assert.Throws<ArgumentException>(() => LmTrainer.Distill(LmDistillationMode.TokenKD, LanguageModelTests.Tiny(), null, Splits.Train, options));
        Assert.Contains("needs a teacher", e.Message);
        // An untrained teacher answers nothing correctly, so rejection sampling keeps nothing.
        e = Assert.Throws<ArgumentException>(() => LmTrainer.Distill(LmDistillationMode.SequenceKD, LanguageModelTests.Tiny(), teacher, Splits.Train.Take(16).ToList(), options));
        Assert.Contains("train the teacher first", e.Message);
    }

    [Fact]
    public void On_policy_distillation_scores_the_students_own_completions()
    {
        using var teacher = LanguageModelTests.Tiny(seed: 1, width: 32);
        using var student = LanguageModelTests.Tiny(seed: 2);
        string[] prompts = ["1+2=", "33+44=", "5+6=", "70+8="];
        var greedy = new GenerationOptions(MaxNewTokens: 12);
        // Greedy completions do not depend on the batch order, so they can be predicted before the step.
        var expected = TextGenerator.Generate(student, V, prompts, greedy).Completions;
        var masks = new List<float>();
        var widths = new List<long>();
        LmTrainer.DistillOnPolicy(student, teacher, V, prompts, Short with { Steps = 1, BatchSize = 4 }, greedy, (s, t, m) =>
        {
            masks.Add(m!.sum().item<float>());
            widths.Add(t.shape[1]);
            return KnowledgeDistillation.Losses.TokenDistributions.MaskedMean(s.sub(t).pow(2).sum(-1).reshape(-1), m.reshape(-1));
        });
        // The loss covers exactly the tokens the student wrote, its end token included, and nothing of the prompts.
        Assert.Equal([expected.Sum(c => c.Length + 1)], masks);
        Assert.Equal([prompts.Zip(expected).Max(p => p.First.Length + p.Second.Length)], widths);
    }

    [Fact]
    public void The_experiment_runs_a_student_and_tabulates_it()
    {
        foreach (var preset in new[] { LmExperimentSettings.Quick, LmExperimentSettings.Full })
        {
            preset.Splits.Validate();
            preset.Teacher.Validate();
            preset.Student.Validate();
            preset.Distillation.Validate();
        }
        Assert.Equal((300, 1), (LmExperimentSettings.Quick.Student.Steps, LmExperimentSettings.Quick.Seeds));
        Assert.Equal((1000, 3), (LmExperimentSettings.Full.Student.Steps, LmExperimentSettings.Full.Seeds));

        var settings = LmExperimentSettings.Quick with { Student = Short with { Steps = 2 }, EvaluationProblems = 4 };
        var (student, report) = LmExperiment.RunStudent(LmDistillationMode.GroundTruthChains, null, Splits, settings, seed: 1);
        using (student)
        {
            Assert.Equal(TinyGptConfig.Student(), student.Config);
            Assert.InRange(report.TestAccuracy, 0, 1);
            Assert.True(report.ValidationTokenLoss > 0);
            Assert.Null(report.AcceptanceRate);
            var table = LmExperiment.ToDataFrame([report]);
            Assert.Equal(1, table.Rows.Count);
            Assert.Equal("GroundTruthChains", table["mode"][0]);
        }
    }

    [Fact]
    public void A_learning_curve_is_measured_without_changing_the_training()
    {
        var settings = LmExperimentSettings.Quick with { Student = Short with { Steps = 6, ProgressEveryBatches = 2 }, EvaluationProblems = 4 };
        var curveProblems = Splits.Validation.Take(8).ToList();
        var (plain, plainReport) = LmExperiment.RunStudent(LmDistillationMode.GroundTruthChains, null, Splits, settings, seed: 2);
        var (curved, curvedReport) = LmExperiment.RunStudent(LmDistillationMode.GroundTruthChains, null, Splits, settings, seed: 2,
            curveProblems: curveProblems, curveEverySteps: 4);
        using (plain)
        using (curved)
        {
            Assert.Empty(plainReport.Curve);
            Assert.Equal([4, 6], curvedReport.Curve.Select(p => p.Step));
            Assert.Equal([4L * Short.BatchSize, 6L * Short.BatchSize], curvedReport.Curve.Select(p => p.Sequences));
            Assert.Equal(LmEvaluator.ExactMatch(curved, curveProblems).Accuracy, curvedReport.Curve[^1].Accuracy);
            // The curve's generations do not disturb training: the same losses, step by step.
            Assert.Equal(plainReport.Result.Training.History.Select(h => h.Loss), curvedReport.Result.Training.History.Select(h => h.Loss));
            Assert.Throws<ArgumentOutOfRangeException>(() => LmExperiment.RunStudent(LmDistillationMode.AnswersOnly, null, Splits, settings, curveProblems: curveProblems, curveEverySteps: 3));
        }
    }

    [Fact]
    public void Rejection_sampling_keeps_exactly_the_correct_chains()
    {
        using var teacher = LanguageModelTests.Tiny(seed: 1);
        var problems = Splits.Train.Take(16).ToList();
        var sample = LmTrainer.SampleCorrectChains(teacher, V, problems, new GenerationOptions(MaxNewTokens: 40, Temperature: 1.0, Seed: 3), samplesPerPrompt: 2);
        Assert.Equal(32, sample.Sampled);
        int correct = sample.Generation.Completions.Select((c, i) => problems[i / 2].IsCorrect(c) && sample.Generation.Finished[i]).Count(ok => ok);
        Assert.Equal(correct, sample.Accepted.Count);
        Assert.Equal((double)correct / 32, sample.AcceptanceRate);
    }

    [Fact]
    public void Training_and_generation_leak_no_tensors()
    {
        using var model = LanguageModelTests.Tiny(seed: 5);
        using var teacher = LanguageModelTests.Tiny(seed: 6);
        var examples = AdditionTask.Examples(Splits.Train.Take(64).ToList(), ReasoningFormat.ChainOfThought);
        var options = Short with { Steps = 2 };
        string[] prompts = ["1+2=", "33+44="];
        using var loss = new KnowledgeDistillation.Losses.TokenKDLoss(2.0, 0.5);
        void Once()
        {
            LmTrainer.Train(model, V, examples, options);
            LmTrainer.DistillTokens(model, teacher, V, examples, options, loss);
            TextGenerator.Generate(model, V, prompts, new GenerationOptions(MaxNewTokens: 8, Temperature: 1));
            LmEvaluator.TokenLoss(model, examples);
        }
        Once(); // warm-up: the optimiser's first call may cache tensors inside TorchSharp
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Once();
        Once();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Exact_match_counts_correct_final_answers()
    {
        using var model = LanguageModelTests.Tiny();
        var result = LmEvaluator.ExactMatch(model, Splits.Test, new GenerationOptions(MaxNewTokens: 30));
        Assert.Equal(32, result.Total);
        Assert.Equal(Splits.Test.Where((p, i) => p.IsCorrect(result.Completions[i])).Count(), result.Correct);
        Assert.Equal(result.Correct / 32.0, result.Accuracy);
    }

    [Fact]
    public void A_checkpoint_round_trips_and_a_damaged_one_is_refused()
    {
        using var dir = new TempDirectory();
        using var model = LanguageModelTests.Tiny(seed: 9);
        var manifest = new LmManifest("tiny", model.Config, ReasoningFormat.ChainOfThought, "test", 9, 0, Splits.Options, 0, 0, 0, "", "0.107.0", 0);
        var saved = LmCheckpoint.Save(model, manifest, dir.Path);
        Assert.Equal(64, saved.Sha256.Length);
        Assert.Equal(model.ParameterCount(), saved.Parameters);
        var (loaded, read) = LmCheckpoint.Load("tiny", dir.Path);
        using (loaded)
        {
            Assert.Equal(saved, read with { Splits = saved.Splits });
            Assert.Equal(saved.Splits, read.Splits);
            Assert.False(loaded.training);
            using var tokens = tensor(V.Encode("47+85=7+5"), [1, 9]);
            model.eval();
            using var noGrad = no_grad();
            using var a = model.call(tokens);
            using var b = loaded.call(tokens);
            Assert.True(a.allclose(b, rtol: 0, atol: 0));
        }
        var bytes = File.ReadAllBytes(dir.File("tiny.bin"));
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(dir.File("tiny.bin"), bytes);
        Assert.Contains("SHA-256", Assert.Throws<InvalidDataException>(() => LmCheckpoint.Load("tiny", dir.Path)).Message);
        Assert.Throws<FileNotFoundException>(() => LmCheckpoint.Load("missing", dir.Path));
    }
}

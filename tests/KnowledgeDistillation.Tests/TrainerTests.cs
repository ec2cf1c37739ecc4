using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Tables;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>The engine on small slices of Fashion-MNIST, on the CPU, so that each test takes about a second.</summary>
public class TrainerTests
{
    static readonly Lazy<LabelledImages> TrainSlice = new(() => FashionMnist.Load(Split.Train, limit: 1024));
    static readonly Lazy<LabelledImages> TestSlice = new(() => FashionMnist.Load(Split.Test, limit: 500));

    static TrainingOptions Quick(int epochs = 2) => new() { Epochs = epochs, BatchSize = 64, Seed = 7, Device = "cpu", LearningRate = 2e-3 };

    static Mlp TinyMlp(long seed = 1)
    {
        manual_seed(seed);
        return Mlp.TinyStudent();
    }

    static SmallCnn Teacher(long seed = 2)
    {
        manual_seed(seed);
        return SmallCnn.Teacher();
    }

    static SmallCnn Student(long seed = 3)
    {
        manual_seed(seed);
        return SmallCnn.Student();
    }

    [Fact]
    public void Plain_training_learns()
    {
        var result = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick(3));
        Assert.Equal([1, 2, 3], result.History.Select(h => h.Epoch));
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss);
        Assert.True(result.Final.Accuracy > 0.6, $"accuracy {result.Final.Accuracy}");
        Assert.Equal(500, result.Final.Count);
    }

    [Fact]
    public void Same_seed_gives_identical_runs()
    {
        var a = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick());
        var b = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick());
        Assert.Equal(a.History.Select(Metrics), b.History.Select(Metrics));
        var c = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick() with { Seed = 8 });
        Assert.NotEqual(a.History.Select(Metrics), c.History.Select(Metrics));
    }

    static (double, double, double, double, double) Metrics(EpochRecord r) => (r.TrainLoss, r.TrainAccuracy, r.TestLoss, r.TestAccuracy, r.TestEce);

    [Fact]
    public void An_interrupted_and_resumed_run_ends_exactly_like_an_uninterrupted_one()
    {
        using var dir = new TempDirectory();
        var options = Quick(4) with { Schedule = ScheduleKind.Cosine, Optimizer = OptimizerKind.Sgd, LearningRate = 0.05 };
        var whole = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, options);

        var path = dir.File("run.ckpt");
        using var cancel = new CancellationTokenSource();
        var first = options with { CheckpointPath = path, Resume = true };
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, first,
            new TrainingCallbacks { Cancellation = cancel.Token, Progress = p => { if (p.Completed?.Epoch == 2) cancel.Cancel(); } }));
        Assert.True(File.Exists(path));

        // A fresh process would build a fresh model (other initial weights here, on purpose): the checkpoint must override them.
        var resumed = Trainer.Train(TinyMlp(seed: 99), TrainSlice.Value, TestSlice.Value, first);
        Assert.Equal(whole.History.Select(Metrics), resumed.History.Select(Metrics));
        Assert.Equal(whole.Final.Accuracy, resumed.Final.Accuracy);
        Assert.Equal(whole.Final.Loss, resumed.Final.Loss);
    }

    /// <summary>A FitNets run trains a regressor besides the student. The checkpoint used to hold the student and the
    /// optimiser only, so a resumed run went on with a fresh regressor and ended elsewhere.</summary>
    [Fact]
    public void An_interrupted_and_resumed_distillation_restores_the_regressor_and_ends_exactly_like_an_uninterrupted_one()
    {
        using var dir = new TempDirectory();
        manual_seed(0);
        var teacher = SmallCnn.Teacher();
        var options = Quick(3) with { Optimizer = OptimizerKind.Adam, LearningRate = 5e-3, EvaluateEveryEpoch = false };
        (TrainingResult Result, Tensor[] Regressor) Distil(TrainingOptions o, TrainingCallbacks? callbacks, long initSeed)
        {
            manual_seed(initSeed); // the student's and the regressor's initial weights
            var student = SmallCnn.Student();
            using var objective = DistillationMethods.Build(DistillationMethod.FitNet, student, teacher, new MethodSettings());
            var result = Trainer.Distill(student, teacher, objective, TrainSlice.Value, TestSlice.Value, o, callbacks);
            return (result, [.. objective.parameters().Select(p => p.detach().clone())]);
        }
        var (whole, wholeRegressor) = Distil(options, null, 0);
        Assert.NotEmpty(wholeRegressor);

        var resumable = options with { CheckpointPath = dir.File("fitnet.ckpt"), Resume = true };
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => Distil(resumable,
            new TrainingCallbacks { Cancellation = cancel.Token, Progress = p => { if (p.Completed?.Epoch == 2) cancel.Cancel(); } }, 0));
        // A fresh process builds a fresh student and regressor (other initial weights here): the checkpoint must override both.
        var (resumed, resumedRegressor) = Distil(resumable, null, 99);
        Assert.Equal(whole.History.Select(Metrics), resumed.History.Select(Metrics));
        Assert.Equal(whole.Final.Accuracy, resumed.Final.Accuracy);
        Assert.Equal(whole.Final.Loss, resumed.Final.Loss);
        Assert.All(wholeRegressor.Zip(resumedRegressor), p => Assert.True(p.First.equal(p.Second).all().item<bool>(), "the regressor's weights differ"));
    }

    [Fact]
    public void A_checkpoint_without_the_regressor_is_refused_by_a_run_with_one_and_the_other_way_round()
    {
        using var dir = new TempDirectory();
        manual_seed(0);
        var student = SmallCnn.Student();
        using var regressor = nn.Linear(2, 2);
        using var shuffle = new Generator(1);
        var state = new Checkpoint.State(1, [], "f");
        var plain = dir.File("plain.ckpt");
        Checkpoint.Save(plain, student, optim.Adam(student.parameters(), 1e-3), shuffle, state);
        var withRegressor = optim.Adam(student.parameters().Concat(regressor.parameters()), 1e-3);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(plain, student, withRegressor, shuffle, "f", [.. regressor.parameters()]));
        Assert.Contains("holds 0 trainable parameter(s) besides the model's, but this run has 2", e.Message);

        var both = dir.File("both.ckpt");
        Checkpoint.Save(both, student, withRegressor, shuffle, state, [.. regressor.parameters()]);
        e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(both, student, optim.Adam(student.parameters(), 1e-3), shuffle, "f"));
        Assert.Contains("holds 2 trainable parameter(s) besides the model's, but this run has 0", e.Message);
        Assert.Equal(1, Checkpoint.Load(both, student, withRegressor, shuffle, "f", [.. regressor.parameters()]).Epoch);
    }

    [Fact]
    public void A_run_that_evaluates_only_at_the_end_checkpoints_its_NaN_test_metrics_and_resumes()
    {
        // The epochs that are not evaluated have NaN test metrics, which JSON has no number for: the checkpoint used to
        // throw at the end of the first epoch.
        using var dir = new TempDirectory();
        var options = Quick(2) with { EvaluateEveryEpoch = false, CheckpointPath = dir.File("run.ckpt"), Resume = true };
        var whole = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, options with { CheckpointPath = null, Resume = false });
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, options,
            new TrainingCallbacks { Cancellation = cancel.Token, Progress = p => { if (p.Completed?.Epoch == 1) cancel.Cancel(); } }));
        var resumed = Trainer.Train(TinyMlp(seed: 99), TrainSlice.Value, TestSlice.Value, options);
        Assert.True(double.IsNaN(resumed.History[0].TestAccuracy));
        Assert.Equal(whole.History.Select(Metrics), resumed.History.Select(Metrics));
        Assert.Equal(whole.Final.Accuracy, resumed.Final.Accuracy);
    }

    [Fact]
    public void A_run_limited_by_steps_stops_part_way_through_an_epoch_and_matches_an_epoch_run_where_they_overlap()
    {
        // 1,024 images in batches of 64: 16 steps an epoch. 20 steps are one epoch and a quarter of the next.
        var byEpochs = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick(2));
        var bySteps = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick(2) with { Steps = 32 });
        Assert.Equal(byEpochs.History.Select(Metrics), bySteps.History.Select(Metrics));
        Assert.Equal(byEpochs.Steps.Select(s => s.Loss), bySteps.Steps.Select(s => s.Loss));

        var partial = Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick() with { Steps = 20 });
        Assert.Equal([1, 2], partial.History.Select(h => h.Epoch));
        Assert.Equal(Enumerable.Range(1, 20), partial.Steps.Select(s => s.Step));
        Assert.Equal(byEpochs.Steps.Take(20).Select(s => s.Loss), partial.Steps.Select(s => s.Loss));
        // The second epoch's loss is over the 4 × 64 images it saw.
        Assert.Equal(partial.Steps.Skip(16).Average(s => s.Loss), partial.History[1].TrainLoss, 1e-12);
        Assert.Equal(byEpochs.History[0].TrainLoss, partial.Steps.Take(16).Average(s => s.Loss), 1e-12);
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_from_other_settings()
    {
        using var dir = new TempDirectory();
        var path = dir.File("run.ckpt");
        Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick(1) with { CheckpointPath = path });
        var e = Assert.Throws<InvalidDataException>(() =>
            Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick(1) with { CheckpointPath = path, Resume = true, LearningRate = 0.5 }));
        Assert.Contains("other settings", e.Message);
    }

    [Fact]
    public void A_NaN_loss_stops_the_run_naming_epoch_and_batch_and_keeps_the_last_good_checkpoint()
    {
        using var dir = new TempDirectory();
        var path = dir.File("run.ckpt");
        var model = TinyMlp();
        var options = Quick(3) with { CheckpointPath = path };
        // After epoch 1, poison one weight: the first batch of epoch 2 gives a NaN loss.
        var callbacks = new TrainingCallbacks
        {
            Progress = p =>
            {
                if (p.Completed?.Epoch == 1)
                    using (no_grad()) model.parameters().First()[0, 0] = double.NaN;
            },
        };
        var e = Assert.Throws<TrainingDivergedException>(() => Trainer.Train(model, TrainSlice.Value, TestSlice.Value, options, callbacks));
        Assert.Contains("epoch 2, batch 1 of 16", e.Message);
        Assert.Contains("last good checkpoint (epoch 1)", e.Message);

        // The checkpoint still holds epoch 1, with finite weights.
        var restored = TinyMlp(seed: 5);
        using var generator = new Generator(0);
        var optimizer = optim.Adam(restored.parameters());
        var state = Checkpoint.Load(path, restored, optimizer, generator, ExpectedFingerprint(path));
        Assert.Equal(1, state.Epoch);
        Assert.All(restored.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    [Fact]
    public void Divergence_is_caught_at_the_next_progress_point_not_only_at_the_end_of_the_epoch()
    {
        // The loss is checked on the device every batch and read every ProgressEveryBatches batches (no batch waits for
        // the host): a NaN in batch 1 of epoch 2 stops the run at batch 4, before any progress of epoch 2 is reported.
        var model = TinyMlp();
        var reported = new List<TrainingProgress>();
        var callbacks = new TrainingCallbacks
        {
            Progress = p =>
            {
                reported.Add(p);
                if (p.Completed?.Epoch == 1)
                    using (no_grad()) model.parameters().First()[0, 0] = double.NaN;
            },
        };
        var e = Assert.Throws<TrainingDivergedException>(() =>
            Trainer.Train(model, TrainSlice.Value, TestSlice.Value, Quick(3) with { ProgressEveryBatches = 4 }, callbacks));
        Assert.Contains("The training loss became NaN at epoch 2, batch 1 of 16", e.Message);
        Assert.DoesNotContain(reported, p => p.Epoch == 2);
        Assert.All(reported, p => Assert.True(double.IsFinite(p.RunningLoss)));
    }

    [Fact]
    public void Out_of_range_training_labels_are_rejected_once_before_the_first_batch()
    {
        using var labels = TrainSlice.Value.Labels.narrow(0, 0, 128).clone();
        labels[77] = 10;
        // The data set declares 11 classes, so its own check accepts label 10; the 10-class student cannot learn it.
        using var train = new LabelledImages(TrainSlice.Value.Images.narrow(0, 0, 128), labels, Split.Train, classes: 11);
        var batches = 0;
        var e = Assert.Throws<ArgumentException>(() => Trainer.Distill(Student(), Teacher(),
            new DistillationObjective(DistillationTerms.CrossEntropy(0.5), DistillationTerms.Soft(4, 0.5)), train, TestSlice.Value,
            Quick(1) with { ProgressEveryBatches = 1 }, new TrainingCallbacks { Progress = _ => batches++ }));
        Assert.Contains("labels must be in [0, 9]; found 10", e.Message);
        Assert.Equal(0, batches);
    }

    static string ExpectedFingerprint(string path)
    {
        // The fingerprint is the second field of the file; read it back to load without rebuilding the run description.
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadString();
        return System.Text.Json.JsonSerializer.Deserialize<Checkpoint.State>(reader.ReadString())!.Fingerprint;
    }

    [Fact]
    public void Distillation_freezes_the_teacher_and_trains_the_student()
    {
        var teacher = Teacher();
        var student = Student();
        var teacherBefore = teacher.parameters().Select(p => p.detach().clone()).ToList();
        var studentBefore = student.parameters().Select(p => p.detach().clone()).ToList();
        var objective = new DistillationObjective(DistillationTerms.CrossEntropy(0.5), DistillationTerms.Soft(4, 0.5));
        var result = Trainer.Distill(student, teacher, objective, TrainSlice.Value, TestSlice.Value, Quick(1));

        Assert.All(teacher.parameters().Zip(teacherBefore), p => Assert.True(p.First.eq(p.Second).all().item<bool>(), "teacher changed"));
        Assert.Contains(student.parameters().Zip(studentBefore), p => !p.First.eq(p.Second).all().item<bool>());
        Assert.False(teacher.training);
        Assert.Equal(["ce", "kd"], result.History[0].Terms.Keys);
    }

    [Fact]
    public void Cached_teacher_outputs_give_the_same_run_as_online_teacher_forwards()
    {
        var objective = () => new DistillationObjective(DistillationTerms.CrossEntropy(0.5), DistillationTerms.Soft(4, 0.5),
            DistillationTerms.Attention([(0, 0), (1, 1)], 50));
        var cached = Trainer.Distill(Student(), Teacher(), objective(), TrainSlice.Value, TestSlice.Value, Quick(2));
        var online = Trainer.Distill(Student(), Teacher(), objective(), TrainSlice.Value, TestSlice.Value, Quick(2) with { CacheTeacherOutputs = false });
        // The teacher runs in evaluation mode either way; batching differs (1000 vs 64 images), so allow float rounding.
        foreach (var (c, o) in cached.History.Zip(online.History))
        {
            Assert.Equal(o.TrainLoss, c.TrainLoss, 1e-4);
            Assert.Equal(o.TestAccuracy, c.TestAccuracy, 0.01);
        }
    }

    [Fact]
    public void Class_count_mismatch_is_an_error_before_training()
    {
        manual_seed(4);
        var teacher = new Mlp(784, [32], numClasses: 5);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Distill(TinyMlp(), teacher,
            new DistillationObjective(DistillationTerms.Soft(4)), TrainSlice.Value, TestSlice.Value, Quick(1)));
        Assert.Contains("Before training", e.Message);
        Assert.Contains("5 classes", e.Message);
    }

    [Fact]
    public void Feature_shape_mismatch_is_an_error_before_training_naming_layers_and_shapes()
    {
        // Student feature 0 is [8, 14, 14]; teacher feature 1 is [64, 7, 7]: a hint needs the same resolution.
        // The shape check probes with 4 images (angle-wise RKD needs at least 3).
        var objective = new DistillationObjective(DistillationTerms.Hint(new HintLoss(8, 64), 0, 1));
        var e = Assert.Throws<ArgumentException>(() => Trainer.Distill(Student(), Teacher(), objective, TrainSlice.Value, TestSlice.Value, Quick(1)));
        Assert.Contains("Before training", e.Message);
        Assert.Contains("[4, 8, 14, 14]", e.Message);
        Assert.Contains("[4, 64, 7, 7]", e.Message);
        Assert.Contains("block1 [8, 14, 14]", e.Message);
        Assert.Contains("block2 [64, 7, 7]", e.Message);
    }

    [Fact]
    public void Feature_terms_need_feature_models()
    {
        var objective = new DistillationObjective(DistillationTerms.Pkt(0, 0));
        var plain = nn.Sequential(nn.Flatten(), nn.Linear(784, 10));
        var e = Assert.Throws<ArgumentException>(() => Trainer.Distill(plain, Teacher(), objective, TrainSlice.Value, TestSlice.Value, Quick(1)));
        Assert.Contains("'pkt'", e.Message);
    }

    [Fact]
    public void Training_leaves_no_live_tensors_behind()
    {
        var model = TinyMlp();
        var train = TrainSlice.Value;
        var test = TestSlice.Value;
        Trainer.Train(model, train, test, Quick(1)); // warm-up: optimiser and generator first use
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Trainer.Train(model, train, test, Quick(2));
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Bad_options_are_rejected_with_their_name()
    {
        Assert.Equal("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => Quick(0).Validate()).ParamName);
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => (Quick() with { LearningRate = -1 }).Validate()).ParamName);
        Assert.Equal("Resume", Assert.Throws<ArgumentException>(() => (Quick() with { Resume = true }).Validate()).ParamName);
        Assert.Throws<ArgumentException>(() => Trainer.Train(TinyMlp(), TrainSlice.Value, TestSlice.Value, Quick() with { Device = "tpu" }));
    }

    [Fact]
    public void Schedules_follow_their_formulas()
    {
        var cosine = new TrainingOptions { Epochs = 4, LearningRate = 1, Schedule = ScheduleKind.Cosine };
        Assert.Equal([1, 0.8535534, 0.5, 0.1464466], Enumerable.Range(1, 4).Select(cosine.LearningRateAt), (a, b) => Math.Abs(a - b) < 1e-6);
        var step = new TrainingOptions { Epochs = 6, LearningRate = 1, Schedule = ScheduleKind.Step, StepSize = 2, StepGamma = 0.5 };
        Assert.Equal([1, 1, 0.5, 0.5, 0.25, 0.25], Enumerable.Range(1, 6).Select(step.LearningRateAt));
    }

    [Fact]
    public void History_comes_back_as_a_DataFrame()
    {
        var result = Trainer.Distill(Student(), Teacher(), new DistillationObjective(DistillationTerms.CrossEntropy(0.5), DistillationTerms.Soft(4, 0.5)),
            TrainSlice.Value, TestSlice.Value, Quick(2));
        var frame = result.ToDataFrame();
        Assert.Equal(2, frame.Rows.Count);
        Assert.Contains("term:kd", frame.Columns.Select(c => c.Name));
        Assert.Equal(result.History[1].TestAccuracy, (double)frame["test_acc"][1]);
    }
}

public class EvaluatorTests
{
    [Fact]
    public void Metrics_from_hand_made_logits()
    {
        // Three samples, two classes. Probabilities: [0.9, 0.1] (label 0, right), [0.2, 0.8] (label 0, wrong),
        // [0.4, 0.6] (label 1, right). Accuracy 2/3.
        var p = tensor(new double[,] { { 0.9, 0.1 }, { 0.2, 0.8 }, { 0.4, 0.6 } });
        var y = tensor(new long[] { 0, 0, 1 });
        var result = Evaluator.FromLogits(p.log(), y);
        Assert.Equal(2.0 / 3, result.Accuracy, 1e-12);
        // Cross entropy: −(ln 0.9 + ln 0.2 + ln 0.6) / 3 = (0.1053605 + 1.6094379 + 0.5108256) / 3 = 0.7418747.
        Assert.Equal(0.7418747, result.Loss, 1e-6);
        // Confusion [true, predicted]: [[1, 1], [0, 1]].
        Assert.Equal(new long[,] { { 1, 1 }, { 0, 1 } }, result.Confusion);
        // ECE with 15 bins: confidences 0.9 (bin 13, right), 0.8 (bin 12, wrong), 0.6 (bin 9, right), one per bin:
        // (|1 − 0.9| + |0 − 0.8| + |1 − 0.6|) / 3 = 1.3 / 3 = 0.4333333.
        Assert.Equal(0.4333333, result.Ece, 1e-6);
    }

    [Fact]
    public void A_perfectly_calibrated_bin_has_zero_error()
    {
        // Four predictions at confidence 0.75, three right: accuracy equals confidence in that bin.
        var ece = Evaluator.ExpectedCalibrationError(tensor(new[] { 0.75, 0.75, 0.75, 0.75 }), tensor(new[] { true, true, true, false }));
        Assert.Equal(0, ece, 1e-12);
    }
}

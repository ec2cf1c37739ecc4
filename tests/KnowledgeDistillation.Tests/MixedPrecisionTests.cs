using KnowledgeDistillation.Data;
using KnowledgeDistillation.Language;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

/// <summary><see cref="TrainingPrecision.BFloat16"/>: bfloat16 compute with float32 master weights, on the CPU.</summary>
public class MixedPrecisionTests
{
    static readonly Lazy<LabelledImages> TrainSlice = new(() => FashionMnist.Load(Split.Train, limit: 1024));
    static readonly Lazy<LabelledImages> TestSlice = new(() => FashionMnist.Load(Split.Test, limit: 500));

    static TrainingOptions Quick(int epochs = 2) => new()
    {
        Epochs = epochs, BatchSize = 64, Seed = 7, Device = "cpu", LearningRate = 2e-3, Precision = TrainingPrecision.BFloat16,
    };

    static SmallCnn Student(long seed = 3)
    {
        manual_seed(seed);
        return SmallCnn.Student();
    }

    static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>Two steps written out by hand, as mixed precision is defined: the model in bfloat16, the loss in float32,
    /// the bfloat16 gradients copied as float32 to float32 masters, Adam on the masters, the masters rounded back into the
    /// model. The engine's run must give the same master weights and batch-norm statistics, bit for bit.</summary>
    [Fact]
    public void Two_bfloat16_steps_equal_adam_on_float32_masters_fed_bfloat16_gradients()
    {
        using var data = FashionMnist.Load(Split.Train, limit: 256);
        var options = Quick(1) with { BatchSize = 128, EvaluateEveryEpoch = false };
        using var engine = Student();
        Trainer.Train(engine, data, TestSlice.Value, options);

        using var model = Student();
        var masters = model.parameters().Select(p => new TorchSharp.Modules.Parameter(p.detach().clone())).ToList();
        model.to(ScalarType.BFloat16);
        using var adam = optim.Adam(masters, options.LearningRate);
        manual_seed(options.Seed);
        using var shuffle = new Generator((ulong)options.Seed);
        using var order = randperm(data.Count, generator: shuffle);
        model.train();
        for (int b = 0; b < 2; b++)
        {
            using var scope = NewDisposeScope();
            var index = order.narrow(0, b * 128, 128);
            adam.zero_grad();
            model.zero_grad();
            var logits = model.call(data.Images.index_select(0, index).to_type(ScalarType.BFloat16)).to_type(ScalarType.Float32);
            F.cross_entropy(logits, data.Labels.index_select(0, index)).backward();
            foreach (var (m, w) in masters.Zip(model.parameters())) m.grad = w.grad!.to_type(ScalarType.Float32);
            adam.step();
            using (no_grad()) foreach (var (w, m) in model.parameters().Zip(masters)) w.copy_(m);
        }
        model.to(ScalarType.Float32);

        var got = engine.parameters().ToList();
        Assert.Equal(masters.Count, got.Count);
        Assert.All(got.Zip(masters), p => Assert.True(Same(p.First, p.Second), "a weight differs from the hand-written mixed-precision steps"));
        Assert.All(engine.buffers().Zip(model.buffers()), p => Assert.True(Same(p.First, p.Second), "a batch-norm statistic differs"));
        // The weights are float32 masters, not bfloat16 weights widened at the end: most of them are not bfloat16 numbers.
        using var all = cat(got.Select(p => p.detach().flatten()).ToList());
        using var rounded = all.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32);
        double representable = all.eq(rounded).to_type(ScalarType.Float64).mean().item<double>();
        Assert.True(representable < 0.5, $"{representable:P0} of the weights are bfloat16 numbers");
    }

    [Fact]
    public void A_bfloat16_run_gives_back_a_float32_model_whose_final_metrics_are_the_returned_models()
    {
        using var model = Student();
        var result = Trainer.Train(model, TrainSlice.Value, TestSlice.Value, Quick(2));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(model.buffers().Where(b => b.is_floating_point()), b => Assert.Equal(ScalarType.Float32, b.dtype));
        var again = Evaluator.Evaluate(model, TestSlice.Value);
        Assert.Equal(again.Accuracy, result.Final.Accuracy);
        Assert.Equal(again.Loss, result.Final.Loss);
        Assert.Equal(result.Final.Accuracy, result.History[^1].TestAccuracy);

        using var plain = Student();
        var float32 = Trainer.Train(plain, TrainSlice.Value, TestSlice.Value, Quick(2) with { Precision = TrainingPrecision.Float32 });
        Assert.True(result.Final.Accuracy > 0.6, $"bfloat16 accuracy {result.Final.Accuracy}");
        Assert.True(Math.Abs(result.Final.Accuracy - float32.Final.Accuracy) < 0.05,
            $"bfloat16 {result.Final.Accuracy:P1} vs float32 {float32.Final.Accuracy:P1}");
        Assert.NotEqual(float32.Final.Loss, result.Final.Loss); // it did compute in bfloat16
    }

    [Fact]
    public void An_interrupted_bfloat16_run_resumes_exactly_and_a_float32_checkpoint_is_refused()
    {
        using var dir = new TempDirectory();
        var options = Quick(3) with { Schedule = ScheduleKind.Cosine };
        using var wholeModel = Student();
        var whole = Trainer.Train(wholeModel, TrainSlice.Value, TestSlice.Value, options);

        var resumable = options with { CheckpointPath = dir.File("bf16.ckpt"), Resume = true };
        using var cancel = new CancellationTokenSource();
        using (var stopped = Student())
            Assert.Throws<OperationCanceledException>(() => Trainer.Train(stopped, TrainSlice.Value, TestSlice.Value, resumable,
                new TrainingCallbacks { Cancellation = cancel.Token, Progress = p => { if (p.Completed?.Epoch == 1) cancel.Cancel(); } }));
        using var fresh = Student(seed: 99);
        var resumed = Trainer.Train(fresh, TrainSlice.Value, TestSlice.Value, resumable);
        Assert.Equal(whole.History.Select(h => (h.TrainLoss, h.TestAccuracy, h.TestLoss)), resumed.History.Select(h => (h.TrainLoss, h.TestAccuracy, h.TestLoss)));
        Assert.All(wholeModel.parameters().Zip(fresh.parameters()), p => Assert.True(Same(p.First, p.Second), "a weight differs after resuming"));

        var float32Path = dir.File("f32.ckpt");
        using (var f32 = Student())
            Trainer.Train(f32, TrainSlice.Value, TestSlice.Value, Quick(1) with { Precision = TrainingPrecision.Float32, CheckpointPath = float32Path });
        using var other = Student();
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Train(other, TrainSlice.Value, TestSlice.Value, Quick(2) with { CheckpointPath = float32Path, Resume = true }));
        Assert.Contains("precision=BFloat16", e.Message);
    }

    [Fact]
    public void Feature_distillation_trains_a_bfloat16_student_with_a_float32_regressor()
    {
        manual_seed(0);
        using var teacher = SmallCnn.Teacher();
        Trainer.Train(teacher, TrainSlice.Value, TestSlice.Value, Quick(1) with { Precision = TrainingPrecision.Float32, EvaluateEveryEpoch = false });
        using var student = Student();
        using var objective = DistillationMethods.Build(DistillationMethod.FitNet, student, teacher, new MethodSettings());
        var before = objective.parameters().Select(p => p.detach().clone()).ToList();
        var result = Trainer.Distill(student, teacher, objective, TrainSlice.Value, TestSlice.Value, Quick(2));
        Assert.All(student.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(objective.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Contains(objective.parameters().Zip(before), p => !Same(p.First, p.Second)); // the regressor learned
        Assert.True(result.Final.Accuracy > 0.5, $"accuracy {result.Final.Accuracy}");
        Assert.All(result.History, h => Assert.True(double.IsFinite(h.TrainLoss)));
    }

    [Fact]
    public void A_bfloat16_run_leaves_no_live_tensors_behind()
    {
        using var model = Student();
        Trainer.Train(model, TrainSlice.Value, TestSlice.Value, Quick(1)); // warm-up: optimiser and generator first use
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Trainer.Train(model, TrainSlice.Value, TestSlice.Value, Quick(2));
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Language_models_and_bad_values_are_refused_with_a_reason()
    {
        Assert.Equal("Precision", Assert.Throws<ArgumentOutOfRangeException>(() => (Quick() with { Precision = (TrainingPrecision)7 }).Validate()).ParamName);
        var splits = AdditionTask.CreateSplits(new AdditionSplitOptions(Train: 32, Validation: 8, Test: 8));
        using var gpt = LanguageModelTests.Tiny(seed: 2);
        var e = Assert.Throws<NotSupportedException>(() => LmTrainer.Train(gpt, CharVocabulary.Default,
            AdditionTask.Examples(splits.Train, ReasoningFormat.ChainOfThought), LanguageTrainingTests.Short with { Precision = TrainingPrecision.BFloat16 }));
        Assert.Contains("image classifiers only", e.Message);
        Assert.All(gpt.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void Fast_bfloat16_on_the_cpu_follows_its_flags()
    {
        if (!OperatingSystem.IsLinux()) return;
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal));
        Assert.Equal(flags.Contains(" avx512_bf16") || flags.Contains(" amx_bf16"), Devices.HasFastBFloat16(CPU));
    }
}

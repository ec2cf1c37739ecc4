using KnowledgeDistillation.Data;
using KnowledgeDistillation.Language;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

/// <summary>Whether torch sees CUDA, asked once per test process.</summary>
static class CudaAvailability
{
    /// <summary>Why the CUDA tests are skipped where torch has no CUDA.</summary>
    public const string SkipReason =
        "CUDA is not available: this is a TorchSharp-cpu build or there is no NVIDIA driver (build with -p:TorchBackend=cuda on a GPU machine)";

    static readonly Lazy<bool> Available = new(() =>
    {
        // Attributes are built during test discovery, possibly before anything else has touched torch.
        TorchNative.EnsureLoaded();
        return cuda.is_available();
    });

    /// <summary>Null where CUDA is available, else <see cref="SkipReason"/>.</summary>
    public static string? Skip => Available.Value ? null : SkipReason;
}

/// <summary>A fact that needs CUDA: without it, xunit reports the test as skipped, with the reason, instead of
/// letting it pass without checking anything.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when torch has no CUDA.</summary>
    public CudaFactAttribute() => Skip = CudaAvailability.Skip;
}

/// <summary>A theory that needs CUDA; skipped, with the reason, without it.</summary>
public sealed class CudaTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when torch has no CUDA.</summary>
    public CudaTheoryAttribute() => Skip = CudaAvailability.Skip;
}

/// <summary>
/// The CUDA path: training, the losses and checkpoints on a GPU. They run only where torch sees CUDA (build with
/// <c>-p:TorchBackend=cuda</c> on an NVIDIA machine); elsewhere they are reported as skipped.
/// </summary>
public class CudaPathTests
{
    static readonly Lazy<LabelledImages> TrainSlice = new(() => FashionMnist.Load(Split.Train, limit: 512));
    static readonly Lazy<LabelledImages> TestSlice = new(() => FashionMnist.Load(Split.Test, limit: 200));

    static TrainingOptions OnCuda(int epochs = 3) => new() { Epochs = epochs, BatchSize = 64, Seed = 7, Device = "cuda", LearningRate = 2e-3 };

    /// <summary>A term of weight 0 that records, every batch, where the student's logits, the teacher's logits (from the
    /// cache) and the labels are.</summary>
    static DistillationTerm DeviceProbe(List<(DeviceType Student, DeviceType Teacher, DeviceType Labels)> seen) => new("devices", 0, b =>
    {
        seen.Add((b.StudentLogits.device_type, b.TeacherLogits.device_type, b.Labels!.device_type));
        return b.StudentLogits.sum().mul(0);
    }) { UsesLabels = true };

    static void AssertLearnedOnCuda(TrainingResult result, nn.Module student, List<(DeviceType Student, DeviceType Teacher, DeviceType Labels)> seen)
    {
        Assert.All(student.parameters(), p => Assert.Equal(DeviceType.CUDA, p.device_type));
        Assert.NotEmpty(seen);
        Assert.All(seen, s => Assert.Equal((DeviceType.CUDA, DeviceType.CUDA, DeviceType.CUDA), s));
        Assert.All(result.History, h => Assert.True(double.IsFinite(h.TrainLoss), $"epoch {h.Epoch}: loss {h.TrainLoss}"));
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss,
            $"the loss did not decrease: {string.Join(", ", result.History.Select(h => h.TrainLoss))}");
    }

    [CudaFact]
    public void Distillation_on_cuda_keeps_model_teacher_outputs_and_data_on_the_gpu_and_the_loss_decreases()
    {
        manual_seed(2);
        var teacher = SmallCnn.Teacher();
        manual_seed(3);
        var student = SmallCnn.Student();
        var seen = new List<(DeviceType, DeviceType, DeviceType)>();
        var objective = new DistillationObjective(DistillationTerms.CrossEntropy(0.1), DistillationTerms.Soft(4, 0.9), DeviceProbe(seen));

        var result = Trainer.Distill(student, teacher, objective, TrainSlice.Value, TestSlice.Value, OnCuda());

        AssertLearnedOnCuda(result, student, seen);
        Assert.All(teacher.parameters(), p => Assert.Equal(DeviceType.CUDA, p.device_type));
        Assert.InRange(result.Final.Accuracy, 0.2, 1.0); // well above chance (0.1) after three epochs

        // The cache the trainer builds: the teacher's logits and features, computed once on the GPU, selected there.
        using var scope = NewDisposeScope();
        var images = TrainSlice.Value.Images.narrow(0, 0, 100).to(CUDA);
        using var cache = TeacherOutputs.Compute(teacher, images, [1], batchSize: 32);
        var selected = cache.Select(arange(8, dtype: ScalarType.Int64, device: CUDA));
        Assert.Equal(DeviceType.CUDA, selected.Logits.device_type);
        Assert.Equal(DeviceType.CUDA, selected.Features[1].device_type);
    }

    [CudaFact]
    public void Distillation_from_precomputed_cpu_logits_moves_them_to_the_gpu_once()
    {
        manual_seed(2);
        var teacher = SmallCnn.Teacher();
        using var teacherLogits = Evaluator.Logits(teacher, TrainSlice.Value.Images); // on the CPU, as a user computes them
        manual_seed(3);
        var student = SmallCnn.Student();
        var seen = new List<(DeviceType, DeviceType, DeviceType)>();
        var objective = new DistillationObjective(DistillationTerms.CrossEntropy(0.1), DistillationTerms.Soft(4, 0.9), DeviceProbe(seen));

        var result = Trainer.Distill(student, teacherLogits, objective, TrainSlice.Value, TestSlice.Value, OnCuda());

        AssertLearnedOnCuda(result, student, seen);
        Assert.Equal(DeviceType.CPU, teacherLogits.device_type); // the caller's tensor is neither moved nor freed
        Assert.False(teacherLogits.IsInvalid);
    }

    /// <summary>The KD losses on the GPU against the CPU. Same formulas in float32; only the kernels' summation order
    /// differs, which moves values of this size (about 1 to 10) by around 1e-6, so 1e-5 is a safe bound.</summary>
    [CudaFact]
    public void The_KD_losses_and_their_gradients_on_cuda_equal_the_cpu_values_within_1e_5()
    {
        const double Tolerance = 1e-5;
        manual_seed(11);
        using var student = randn(32, 10).mul(3);
        using var teacher = randn(32, 10).mul(3);
        using var labels = randint(0, 10, [32], dtype: ScalarType.Int64);
        var losses = new (string Name, Func<Tensor, Tensor, Tensor, Tensor> Loss)[]
        {
            ("HintonKDLoss T=4 alpha=0.9", (s, t, y) => new HintonKDLoss(4, 0.9).call(s, t, y)),
            ("HintonKDLoss T=2 alpha=0.5 cross-entropy form", (s, t, y) => new HintonKDLoss(2, 0.5, SoftTargetForm.CrossEntropy).call(s, t, y)),
            ("SoftLoss T=4", (s, t, _) => HintonKDLoss.SoftLoss(s, t, 4)),
            ("KLDivergence.BatchMean", (s, t, _) => KLDivergence.BatchMean(F.log_softmax(s, 1), F.log_softmax(t, 1))),
            ("KLDivergence.SoftCrossEntropy", (s, t, _) => KLDivergence.SoftCrossEntropy(F.log_softmax(s, 1), F.softmax(t, 1))),
        };
        foreach (var (name, loss) in losses)
        {
            var (cpuValue, cpuGrad) = ValueAndGradient(loss, CPU);
            var (gpuValue, gpuGrad) = ValueAndGradient(loss, CUDA);
            Assert.True(Math.Abs(cpuValue - gpuValue) <= Tolerance, $"{name}: CPU {cpuValue}, CUDA {gpuValue}");
            double gradientGap = gpuGrad.sub(cpuGrad).abs().max().item<float>();
            Assert.True(gradientGap <= Tolerance, $"{name}: the gradients differ by up to {gradientGap}");
            cpuGrad.Dispose();
            gpuGrad.Dispose();
        }

        (double Value, Tensor Gradient) ValueAndGradient(Func<Tensor, Tensor, Tensor, Tensor> loss, Device device)
        {
            using var scope = NewDisposeScope();
            var s = student.to(device).detach().requires_grad_(true);
            var value = loss(s, teacher.to(device), labels.to(device));
            Assert.Equal(device.type, value.device_type);
            value.backward();
            return (value.item<float>(), s.grad!.cpu().MoveToOuterDisposeScope());
        }
    }

    [CudaFact]
    public void A_checkpoint_of_a_cuda_model_loads_on_the_cpu_and_on_cuda_with_identical_weights_and_logits()
    {
        using var dir = new TempDirectory();
        var path = dir.File("cuda.ckpt");
        const string fingerprint = "cuda round trip";
        using var x = TestSlice.Value.Images.narrow(0, 0, 16).clone();
        using var xGpu = x.to(CUDA);

        // A CUDA model after a few Adam steps, so that the weights, the batch-norm statistics and the optimiser's state
        // all differ from a fresh model's.
        manual_seed(5);
        var model = SmallCnn.Student();
        model.to(CUDA);
        using var optimizer = optim.Adam(model.parameters(), 1e-2);
        using (var labels = TestSlice.Value.Labels.narrow(0, 0, 16).to(CUDA))
        {
            for (int step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                F.cross_entropy(model.call(xGpu), labels).backward();
                optimizer.step();
            }
        }
        model.eval();
        using var shuffle = new Generator(0);
        Checkpoint.Save(path, model, optimizer, shuffle, new Checkpoint.State(1, [], fingerprint));

        manual_seed(99); // other initial weights: the checkpoint must replace them
        var onCpu = SmallCnn.Student();
        using (var cpuOptimizer = optim.Adam(onCpu.parameters(), 1e-2))
        using (var generator = new Generator(1))
            Checkpoint.Load(path, onCpu, cpuOptimizer, generator, fingerprint);
        var onGpu = SmallCnn.Student();
        onGpu.to(CUDA);
        using (var gpuOptimizer = optim.Adam(onGpu.parameters(), 1e-2))
        using (var generator = new Generator(1))
            Checkpoint.Load(path, onGpu, gpuOptimizer, generator, fingerprint);
        onCpu.eval();
        onGpu.eval();

        // The weights and buffers: bit for bit, on the device each model lives on.
        var saved = model.state_dict();
        foreach (var (name, loaded, device) in onCpu.state_dict().Select(p => (p.Key, p.Value, DeviceType.CPU))
                     .Concat(onGpu.state_dict().Select(p => (p.Key, p.Value, DeviceType.CUDA))))
        {
            Assert.Equal(device, loaded.device_type);
            Assert.True(saved[name].cpu().eq(loaded.cpu()).all().item<bool>(), $"{name} on {device} differs from the saved model's");
        }

        using var scope2 = NewDisposeScope();
        using (no_grad())
        {
            // The same weights and the same kernels on the same GPU: the same logits, to the last bit.
            var original = model.call(xGpu);
            Assert.True(onGpu.call(xGpu).eq(original).all().item<bool>(), "the CUDA-loaded model's logits differ from the saved model's");

            // The CPU computes with other kernels: equal to float32 rounding, once TF32 (on by default for cuDNN
            // convolutions on Ampere and later, about 3 significant digits) is off.
            bool cudnnTf32 = backends.cudnn.allow_tf32, matmulTf32 = backends.cuda.matmul.allow_tf32;
            try
            {
                backends.cudnn.allow_tf32 = false;
                backends.cuda.matmul.allow_tf32 = false;
                var reference = model.call(xGpu).cpu();
                var cpuLogits = onCpu.call(x);
                Assert.True(cpuLogits.allclose(reference, rtol: 1e-4, atol: 1e-4),
                    $"CPU and CUDA logits differ by up to {cpuLogits.sub(reference).abs().max().item<float>()}");
            }
            finally
            {
                backends.cudnn.allow_tf32 = cudnnTf32;
                backends.cuda.matmul.allow_tf32 = matmulTf32;
            }
        }
    }

    /// <summary>
    /// The language model through the one engine on the GPU: the student, the teacher, its cached logits and every batch of
    /// token sequences are on CUDA. The first step's loss equals the CPU's to float rounding (same weights, same batch),
    /// the loss falls, on-policy KD samples and scores on the GPU, a resumed run ends like an uninterrupted one, and
    /// evaluation and generation run on the GPU model.
    /// </summary>
    [CudaFact]
    public void The_language_model_trains_on_cuda_through_the_engine_and_resumes()
    {
        var vocabulary = CharVocabulary.Default;
        var splits = AdditionTask.CreateSplits(new AdditionSplitOptions(Train: 256, Validation: 32, Test: 32));
        var chains = AdditionTask.Examples(splits.Train, ReasoningFormat.ChainOfThought);
        var onCpu = LanguageTrainingTests.Short with { Steps = 24 };
        var onCuda = onCpu with { Device = "cuda" };
        bool matmulTf32 = backends.cuda.matmul.allow_tf32;
        backends.cuda.matmul.allow_tf32 = false; // float32 matmuls, to compare with the CPU
        try
        {
            using var teacher = LanguageModelTests.Tiny(seed: 1, width: 32);
            using var loss = new TokenKDLoss(2.0, 0.5);
            using var cpuStudent = LanguageModelTests.Tiny(seed: 2);
            var cpu = LmTrainer.DistillTokens(cpuStudent, teacher, vocabulary, chains, onCpu, loss);
            using var student = LanguageModelTests.Tiny(seed: 2);
            var gpu = LmTrainer.DistillTokens(student, teacher, vocabulary, chains, onCuda, loss);
            Assert.All(student.parameters(), p => Assert.Equal(DeviceType.CUDA, p.device_type));
            Assert.All(teacher.parameters(), p => Assert.Equal(DeviceType.CUDA, p.device_type));
            Assert.All(gpu.History, h => Assert.True(double.IsFinite(h.Loss), $"step {h.Step}: loss {h.Loss}"));
            Assert.True(Math.Abs(gpu.History[0].Loss - cpu.History[0].Loss) <= 1e-4 * Math.Abs(cpu.History[0].Loss),
                $"first step: CPU {cpu.History[0].Loss}, CUDA {gpu.History[0].Loss}");
            Assert.True(gpu.Epochs[^1].MeanLoss < gpu.Epochs[0].MeanLoss, $"the loss did not fall: {string.Join(", ", gpu.Epochs.Select(e => e.MeanLoss))}");
            Assert.True(double.IsFinite(LmEvaluator.TokenLoss(student, chains)));
            Assert.Equal(8, LmEvaluator.ExactMatch(student, [.. splits.Test.Take(8)], new GenerationOptions(MaxNewTokens: 30)).Total);

            // On-policy: the student's samples, the teacher's logits and the mask reach the divergence on the GPU.
            var seen = new List<(DeviceType, DeviceType, DeviceType)>();
            using var reverseKl = new ReverseKLLoss();
            var prompts = splits.Train.Take(8).Select(p => p.Prompt).ToList();
            LmTrainer.DistillOnPolicy(student, teacher, vocabulary, prompts, onCuda with { Steps = 2, BatchSize = 4 },
                new GenerationOptions(MaxNewTokens: 12, Temperature: 1.0, Seed: 3), (s, t, m) =>
                {
                    seen.Add((s.device_type, t.device_type, m!.device_type));
                    return reverseKl.Compute(s, t, m);
                });
            Assert.Equal([(DeviceType.CUDA, DeviceType.CUDA, DeviceType.CUDA), (DeviceType.CUDA, DeviceType.CUDA, DeviceType.CUDA)], seen);

            // Checkpoints and resume on the GPU: stopped after the first epoch, resumed into a fresh student.
            using var dir = new TempDirectory();
            var resumable = onCuda with { CheckpointPath = dir.File("lm.ckpt"), Resume = true };
            using var whole = LanguageModelTests.Tiny(seed: 2);
            var uninterrupted = LmTrainer.Train(whole, vocabulary, chains, onCuda);
            using var cancel = new CancellationTokenSource();
            using (var stopped = LanguageModelTests.Tiny(seed: 2))
                Assert.Throws<OperationCanceledException>(() => LmTrainer.Train(stopped, vocabulary, chains, resumable,
                    new TrainingCallbacks { Cancellation = cancel.Token, Progress = p => { if (p.Completed?.Epoch == 1) cancel.Cancel(); } }));
            using var fresh = LanguageModelTests.Tiny(seed: 99);
            var resumed = LmTrainer.Train(fresh, vocabulary, chains, resumable);
            Assert.Equal(uninterrupted.History.Select(h => (h.Step, h.Epoch, h.LearningRate)), resumed.History.Select(h => (h.Step, h.Epoch, h.LearningRate)));
            // GPU kernels may add in another order from run to run (atomics in the embedding's backward): equal to rounding.
            Assert.All(uninterrupted.History.Zip(resumed.History), p => Assert.True(Math.Abs(p.First.Loss - p.Second.Loss) <= 1e-3 * Math.Abs(p.First.Loss) + 1e-6,
                $"step {p.First.Step}: {p.First.Loss} uninterrupted, {p.Second.Loss} resumed"));
        }
        finally
        {
            backends.cuda.matmul.allow_tf32 = matmulTf32;
        }
    }
}

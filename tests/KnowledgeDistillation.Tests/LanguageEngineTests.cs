using KnowledgeDistillation.Language;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// The language model in the one training engine, on the CPU: checkpoints and resume for each kind of step, the stop
/// on a non-finite loss, gradient clipping without a host read, and the token sequences on the run's device.
/// </summary>
public class LanguageEngineTests
{
    static readonly CharVocabulary V = CharVocabulary.Default;
    static readonly AdditionSplits Splits = AdditionTask.CreateSplits(new AdditionSplitOptions(Train: 256, Validation: 32, Test: 32));
    static readonly IReadOnlyList<LmExample> Chains = AdditionTask.Examples(Splits.Train, ReasoningFormat.ChainOfThought);

    /// <summary>256 sequences in batches of 32: 8 steps an epoch; 20 steps are two full epochs and half of a third.</summary>
    static readonly TrainingOptions Options = LanguageTrainingTests.Short with { Steps = 20 };

    /// <summary>Trains a fresh student (seed 2, or <paramref name="studentSeed"/>) in one of the step kinds.</summary>
    static (LmTrainingResult Result, TinyGpt Student) Run(string kind, TrainingOptions options, TrainingCallbacks? callbacks = null, long studentSeed = 2)
    {
        var student = LanguageModelTests.Tiny(seed: studentSeed);
        using var teacher = LanguageModelTests.Tiny(seed: 1, width: 32);
        switch (kind)
        {
            case "sft":
                return (LmTrainer.Train(student, V, Chains, options, callbacks), student);
            case "token-kd":
                using (var loss = new TokenKDLoss(2.0, 0.5))
                    return (LmTrainer.DistillTokens(student, teacher, V, Chains, options, loss, callbacks), student);
            default:
                // 16 prompts in batches of 4: 4 steps an epoch; 6 steps stop half-way through the second.
                using (var jsd = new GeneralizedJSDLoss(0.5))
                {
                    var prompts = Splits.Train.Take(16).Select(p => p.Prompt).ToList();
                    var sampling = new GenerationOptions(MaxNewTokens: 12, Temperature: 1.0, Seed: 3);
                    return (LmTrainer.DistillOnPolicy(student, teacher, V, prompts, options with { BatchSize = 4, Steps = 6 }, sampling, jsd.Compute, callbacks), student);
                }
        }
    }

    static IEnumerable<(int, int, double, double)> Steps(LmTrainingResult r) => r.History.Select(h => (h.Step, h.Epoch, h.LearningRate, h.Loss));

    [Theory]
    [InlineData("sft")]
    [InlineData("token-kd")]
    [InlineData("on-policy")]
    public void An_interrupted_and_resumed_language_run_ends_exactly_like_an_uninterrupted_one(string kind)
    {
        using var dir = new TempDirectory();
        var (whole, wholeStudent) = Run(kind, Options);

        var path = dir.File("lm.ckpt");
        var first = Options with { CheckpointPath = path, Resume = true };
        using var cancel = new CancellationTokenSource();
        var stopAfterEpoch1 = new TrainingCallbacks { Cancellation = cancel.Token, Progress = p => { if (p.Completed?.Epoch == 1) cancel.Cancel(); } };
        Assert.Throws<OperationCanceledException>(() => Run(kind, first, stopAfterEpoch1));
        Assert.True(File.Exists(path));

        // A fresh process builds a fresh student (other initial weights here, on purpose): the checkpoint replaces them,
        // and the batch order, the schedule and the on-policy sampling seeds continue from the step it stopped at.
        var (resumed, resumedStudent) = Run(kind, first, studentSeed: 99);
        using (wholeStudent)
        using (resumedStudent)
        {
            Assert.Equal(Steps(whole), Steps(resumed));
            Assert.Equal(whole.Epochs, resumed.Epochs);
            Assert.All(wholeStudent.parameters().Zip(resumedStudent.parameters()), p => Assert.True(p.First.eq(p.Second).all().item<bool>()));
        }
    }

    [Fact]
    public void A_NaN_loss_stops_a_language_run_at_the_next_progress_point_naming_the_step_and_keeps_the_last_good_checkpoint()
    {
        using var dir = new TempDirectory();
        var path = dir.File("lm.ckpt");
        using var model = LanguageModelTests.Tiny(seed: 2);
        var reported = new List<TrainingProgress>();
        // After epoch 1 (step 8), poison the token embeddings: step 9 gives a NaN loss, and the device's check is read at
        // step 10, the next progress point; no step waits for the host before that.
        var callbacks = new TrainingCallbacks
        {
            Progress = p =>
            {
                reported.Add(p);
                if (p.Completed?.Epoch == 1)
                    using (no_grad()) model.parameters().First().fill_(double.NaN);
            },
        };
        var e = Assert.Throws<TrainingDivergedException>(() =>
            LmTrainer.Train(model, V, Chains, Options with { CheckpointPath = path, ProgressEveryBatches = 2 }, callbacks));
        Assert.Contains("The training loss became NaN at epoch 2, batch 1 of 8 (step 9)", e.Message);
        Assert.Contains("last good checkpoint (epoch 1)", e.Message);
        Assert.Equal([2, 4, 6, 8], reported.Select(p => p.Step));
        Assert.True(model.training, "the model gets its mode back");

        // The checkpoint holds epoch 1, its eight steps and finite weights.
        using var restored = LanguageModelTests.Tiny(seed: 5);
        using var optimizer = optim.AdamW(restored.parameters());
        using var generator = new Generator(0);
        var state = Checkpoint.Load(path, restored, optimizer, generator, Fingerprint(path));
        Assert.Equal(1, state.Epoch);
        Assert.Equal(Enumerable.Range(1, 8), state.Steps.Select(s => s.Step));
        Assert.All(state.Steps, s => Assert.True(double.IsFinite(s.Loss)));
        Assert.All(restored.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    static string Fingerprint(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        reader.ReadString();
        using var header = System.Text.Json.JsonDocument.Parse(reader.ReadString());
        return header.RootElement.GetProperty("Fingerprint").GetString()!;
    }

    [Fact]
    public void Resume_refuses_a_language_checkpoint_from_another_regime()
    {
        using var dir = new TempDirectory();
        var options = Options with { Steps = 8, CheckpointPath = dir.File("lm.ckpt"), Resume = true };
        Run("sft", options).Student.Dispose();
        var e = Assert.Throws<InvalidDataException>(() => Run("token-kd", options));
        Assert.Contains("other settings", e.Message);
    }

    /// <summary>TorchSharp's <c>clip_grad_norm_</c> returns the norm as a double, a wait for the device every step; the
    /// engine's clipping keeps it on the device with the same arithmetic, so the clipped gradients are the same bits.</summary>
    [Fact]
    public void Gradient_clipping_equals_torchs_bit_for_bit_without_reading_the_norm()
    {
        var random = new Random(1);
        int clipped = 0;
        for (int trial = 0; trial < 60; trial++)
        {
            using var scope = NewDisposeScope();
            int count = random.Next(1, 6);
            var shapes = Enumerable.Range(0, count).Select(_ => new long[] { random.Next(1, 40), random.Next(1, 30) }).ToList();
            double scale = Math.Pow(10, random.NextDouble() * 3 - 2), maxNorm = trial % 2 == 0 ? 1.0 : 0.5;
            var torchs = shapes.Select(s => new Parameter(zeros(s))).ToList();
            var ours = shapes.Select(s => new Parameter(zeros(s))).ToList();
            for (int i = 0; i < count; i++)
            {
                var g = randn(shapes[i], generator: new Generator((ulong)(100 * trial + i))).mul(scale);
                torchs[i].grad = g;
                ours[i].grad = g.clone();
            }
            if (nn.utils.clip_grad_norm_(torchs, maxNorm) > maxNorm) clipped++;
            Trainer.ClipGradNorm(ours, maxNorm);
            for (int i = 0; i < count; i++)
                Assert.Equal(torchs[i].grad!.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits),
                    ours[i].grad!.data<float>().ToArray().Select(BitConverter.SingleToInt32Bits));
        }
        Assert.InRange(clipped, 1, 59); // both cases, clipped and left alone, were checked
    }

    [Fact]
    public void Token_sequences_are_built_on_the_requested_device_and_batched_from_host_rows()
    {
        using var onCpu = LmSequences.Create(V, Chains.Take(8).ToList(), 72, CPU);
        Assert.Equal(DeviceType.CPU, onCpu.Device.type);
        using var moved = onCpu.To(CPU);
        using var index = tensor(new long[] { 5, 1, 6 });
        var (x1, y1, m1) = onCpu.Batch(index);
        var (x2, y2, m2) = moved.Batch(index, [5, 1, 6]);
        using (x1) using (y1) using (m1) using (x2) using (y2) using (m2)
        {
            Assert.Equal(onCpu.Lengths.Where((_, i) => i is 5 or 1 or 6).Max(), x1.shape[1]);
            Assert.True(x1.eq(x2).all().item<bool>() && y1.eq(y2).all().item<bool>() && m1.eq(m2).all().item<bool>());
        }
    }
}

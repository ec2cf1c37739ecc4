using System.CommandLine;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Performance;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli;

/// <summary><c>kd benchmark</c>: the KD-vs-plain epoch ratio, every distillation method's epoch against a plain one, where a
/// training step's time goes layer by layer, and the resident memory per epoch.</summary>
static class BenchmarkCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "10,000 images, 2 rounds and 8 memory epochs instead of 60,000, 3 and 20." };
        var rounds = new Option<int?>("--rounds") { Description = "Alternating rounds of plain / cached KD / online KD epochs." };
        var memoryEpochs = new Option<int?>("--memory-epochs") { Description = "Epochs of the memory trace." };
        var device = CommonOptions.Device();
        var command = new Command("benchmark", "Measure the cost of a KD epoch against a plain student epoch (cached and online teacher), every method's epoch against a plain one, " +
                                               "a training step's profile by layer, and the RSS per epoch.")
        {
            quick, rounds, memoryEpochs, device,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            bool q = parse.GetValue(quick);
            int images = q ? 10_000 : 60_000;
            int r = parse.GetValue(rounds) ?? (q ? 2 : 3);
            int m = parse.GetValue(memoryEpochs) ?? (q ? 8 : 20);
            if (r < 1 || m < 2) throw new ArgumentException("--rounds must be at least 1 and --memory-epochs at least 2.");
            string dev = parse.GetValue(device)!;
            using var all = FashionMnist.Load(Split.Train);
            using var train = all.BalancedSubset(images, seed: 0);
            using var test = FashionMnist.Load(Split.Test, limit: 1000);
            Console.WriteLine($"device {Devices.Resolve(dev)}, {TorchSharp.torch.get_num_threads()} threads, {images:N0} training images, CNN student 0.1M / teacher 1.0M parameters, batch 128");

            var times = EpochBenchmark.MeasureEpochs(train, test, r, dev, log: Console.Error.WriteLine);
            Console.WriteLine();
            Console.WriteLine("| epoch | fastest seconds | median seconds | ratio to plain (fastest) |");
            Console.WriteLine("| --- | ---: | ---: | ---: |");
            Console.WriteLine($"| plain student | {times.PlainSeconds:F2} | {EpochTimes.Median(times.Plain):F2} | 1.00 |");
            Console.WriteLine($"| KD, cached teacher outputs | {times.CachedKdSeconds:F2} | {EpochTimes.Median(times.CachedKd):F2} | {times.CachedRatio:F2} |");
            Console.WriteLine($"| KD, online teacher forwards | {times.OnlineKdSeconds:F2} | {EpochTimes.Median(times.OnlineKd):F2} | {times.OnlineRatio:F2} |");
            Console.WriteLine($"teacher cache, computed once per run: {times.CacheSeconds:F2} s. Each round's cached-KD / plain ratio: " +
                              string.Join(", ", times.CachedRatioPerRound.Select(v => v.ToString("F2"))) + ".");
            Console.WriteLine($"Goal for cached KD: ratio <= 1.15; measured {times.CachedRatio:F2} ({(times.CachedRatio <= 1.15 ? "met" : "NOT met")}).");

            if (Devices.Resolve(dev).type == TorchSharp.DeviceType.CPU)
                PrintProfile(train, r);
            else
                Console.WriteLine("The per-method epochs and the step profile are measured on the CPU only (a GPU runs asynchronously); run with --device cpu for them.");

            var memory = EpochBenchmark.MeasureMemory(train, test, m, dev, log: Console.Error.WriteLine);
            Console.WriteLine();
            Console.WriteLine("| epoch | RSS MB | live tensors |");
            Console.WriteLine("| ---: | ---: | ---: |");
            for (int i = 0; i < memory.RssMegabytes.Count; i++)
                Console.WriteLine($"| {i + 1} | {memory.RssMegabytes[i]:F1} | {memory.LiveTensors[i]} |");
            Console.WriteLine($"RSS growth after epoch 1: {memory.GrowthAfterFirstEpochPercent:F2} % (goal <= 2 %: {(memory.GrowthAfterFirstEpochPercent <= 2 ? "met" : "NOT met")}); " +
                              $"live tensors {(memory.LiveTensors.Distinct().Count() == 1 ? "constant" : "CHANGED")} at {memory.LiveTensors[^1]}.");
            return Cli.Ok;
        }));
        return command;
    }

    /// <summary>Every method's epoch against a plain one (teacher cached), where a plain step of the student goes, and what
    /// one evaluation of the whole test set costs.</summary>
    static void PrintProfile(LabelledImages train, int rounds)
    {
        var (teacher, manifest) = Pretrained.Load("cnn-teacher");
        using var fullTest = FashionMnist.Load(Split.Test);
        var methods = TrainingProfile.MeasureMethods(train, fullTest, teacher, rounds, log: Console.Error.WriteLine);
        Console.WriteLine();
        Console.WriteLine($"Every method's epoch against a plain epoch, teacher {manifest.Name} with its outputs cached (second epoch of two, fastest of {rounds} round(s)):");
        Console.WriteLine();
        Console.WriteLine("| method | fastest seconds | ratio to plain | goal <= 1.15 |");
        Console.WriteLine("| --- | ---: | ---: | --- |");
        Console.WriteLine($"| plain | {methods[0].PlainSeconds.Min():F2} | 1.00 | |");
        foreach (var t in methods)
            Console.WriteLine($"| {t.Method} | {t.Seconds.Min():F2} | {t.Ratio:F2} | {(t.Ratio <= 1.15 ? "met" : "NOT met")} |");

        TorchSharp.torch.manual_seed(1);
        var student = SmallCnn.Student();
        var profile = TrainingProfile.ProfileStep(student, train);
        Console.WriteLine();
        Console.WriteLine($"A plain training step of the CNN student, batch {profile.BatchSize} (medians, ms): whole step {profile.StepMs:F2} = batch selection {profile.BatchMs:F2} " +
                          $"+ forward and loss {profile.ForwardMs:F2} + backward {profile.BackwardMs:F2} + Adam {profile.OptimizerMs:F2}. Each layer alone:");
        Console.WriteLine();
        Console.WriteLine("| layer | type | output | forward ms | backward ms | share of the layers' time |");
        Console.WriteLine("| --- | --- | --- | ---: | ---: | ---: |");
        double layersTotal = profile.Layers.Sum(l => l.ForwardMs + l.BackwardMs);
        foreach (var l in profile.Layers)
            Console.WriteLine($"| {l.Layer} | {l.Kind} | {l.Output} | {l.ForwardMs:F3} | {l.BackwardMs:F3} | {(l.ForwardMs + l.BackwardMs) / layersTotal:P0} |");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var evaluation = Evaluator.Evaluate(student, fullTest);
        Console.WriteLine();
        Console.WriteLine($"One evaluation of the student on all {fullTest.Count:N0} test images: {clock.Elapsed.TotalSeconds:F2} s (accuracy {evaluation.Accuracy:P1}, untrained but for the profile's steps).");
    }
}

using System.CommandLine;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Performance;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli;

/// <summary><c>kd benchmark</c>: the KD-vs-plain epoch ratio and the resident memory per epoch.</summary>
static class BenchmarkCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "10,000 images, 2 rounds and 8 memory epochs instead of 60,000, 3 and 20." };
        var rounds = new Option<int?>("--rounds") { Description = "Alternating rounds of plain / cached KD / online KD epochs." };
        var memoryEpochs = new Option<int?>("--memory-epochs") { Description = "Epochs of the memory trace." };
        var device = CommonOptions.Device();
        var command = new Command("benchmark", "Measure the cost of a KD epoch against a plain student epoch (cached and online teacher) and the RSS per epoch.")
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
}

using System.CommandLine;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli;

/// <summary>Options several commands share, with their validation.</summary>
static class CommonOptions
{
    public static Option<int> Epochs(int defaultValue) => Positive(new Option<int>("--epochs") { Description = "Passes over the training set.", DefaultValueFactory = _ => defaultValue });

    public static Option<int> BatchSize() => Positive(new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => 128 });

    public static Option<double> LearningRate(double defaultValue = 1e-3)
    {
        var option = new Option<double>("--lr") { Description = "Base learning rate.", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() > 0)) r.AddError("--lr must be > 0."); });
        return option;
    }

    public static Option<long> Seed() => new("--seed") { Description = "Random seed (weights, shuffling, dropout).", DefaultValueFactory = _ => 0L };

    public static Option<string> Device()
    {
        var option = new Option<string>("--device") { Description = "auto (CUDA when available), cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>()?.ToLowerInvariant() ?? "";
            if (v is not ("auto" or "cpu" or "cuda") && !v.StartsWith("cuda:", StringComparison.Ordinal)) r.AddError($"--device must be auto, cpu, cuda or cuda:N, not '{v}'.");
        });
        return option;
    }

    public static Option<int?> Subset() => new("--subset") { Description = "Train on N labelled images (a class-balanced random subset) instead of all 60,000." };

    public static Option<OptimizerKind> Optimizer() => new("--optimizer") { Description = "adam or sgd.", DefaultValueFactory = _ => OptimizerKind.Adam };

    public static Option<ScheduleKind> Schedule() => new("--schedule") { Description = "constant, cosine or step.", DefaultValueFactory = _ => ScheduleKind.Cosine };

    public static Option<TrainingPrecision> Precision() => new("--precision")
    {
        Description = "float32, or bfloat16: mixed precision (bfloat16 forward and backward, float32 master weights; fast where the CPU has " +
                      "AVX512-BF16 or AMX, or on Ampere or later GPUs). Image models only.",
        DefaultValueFactory = _ => TrainingPrecision.Float32,
    };

    public static Option<double> WeightDecay() => new("--weight-decay") { Description = "L2 weight decay.", DefaultValueFactory = _ => 0.0 };

    public static Option<string> Model(string description, string defaultValue, string name = "--model")
    {
        var option = new Option<string>(name) { Description = $"{description} One of: {string.Join(", ", ModelZoo.Names)}.", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!ModelZoo.Names.Contains(v, StringComparer.OrdinalIgnoreCase)) r.AddError($"Unknown model '{v}'. Known models: {string.Join(", ", ModelZoo.Names)}.");
        });
        return option;
    }

    static Option<int> Positive(Option<int> option)
    {
        option.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError($"{option.Name} must be at least 1."); });
        return option;
    }
}

/// <summary>The training options <c>kd train-teacher</c> and <c>kd distill</c> share: epochs, batch size, learning rate,
/// optimiser, schedule, weight decay, seed, device, subset and precision, read back as <see cref="TrainingOptions"/>.</summary>
sealed class TrainingOptionGroup(int epochs, double learningRate)
{
    public Option<int> Epochs { get; } = CommonOptions.Epochs(epochs);
    public Option<int> BatchSize { get; } = CommonOptions.BatchSize();
    public Option<double> LearningRate { get; } = CommonOptions.LearningRate(learningRate);
    public Option<OptimizerKind> Optimizer { get; } = CommonOptions.Optimizer();
    public Option<ScheduleKind> Schedule { get; } = CommonOptions.Schedule();
    public Option<double> WeightDecay { get; } = CommonOptions.WeightDecay();
    public Option<long> Seed { get; } = CommonOptions.Seed();
    public Option<string> Device { get; } = CommonOptions.Device();
    public Option<int?> Subset { get; } = CommonOptions.Subset();
    public Option<TrainingPrecision> Precision { get; } = CommonOptions.Precision();

    /// <summary>Every option, in the order <c>--help</c> lists them.</summary>
    public IEnumerable<Option> All => [Epochs, BatchSize, LearningRate, Optimizer, Schedule, WeightDecay, Seed, Device, Subset, Precision];

    /// <summary>The parsed values as training options (the caller adds what is specific to its command).</summary>
    public TrainingOptions Read(ParseResult parse) => new()
    {
        Epochs = parse.GetValue(Epochs), BatchSize = parse.GetValue(BatchSize), LearningRate = parse.GetValue(LearningRate),
        Optimizer = parse.GetValue(Optimizer), Schedule = parse.GetValue(Schedule), WeightDecay = parse.GetValue(WeightDecay),
        Seed = parse.GetValue(Seed), Device = parse.GetValue(Device)!, Precision = parse.GetValue(Precision),
    };
}

namespace KnowledgeDistillation.Training;

/// <summary>The optimiser.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with momentum.</summary>
    Sgd,
    /// <summary>Adam (Kingma and Ba, 2015).</summary>
    Adam,
}

/// <summary>How the learning rate changes over the epochs.</summary>
public enum ScheduleKind
{
    /// <summary>The same rate every epoch.</summary>
    Constant,
    /// <summary>Cosine annealing from the base rate to 0 over the run (Loshchilov and Hutter, 2017, without restarts).</summary>
    Cosine,
    /// <summary>Multiply by <see cref="TrainingOptions.StepGamma"/> every <see cref="TrainingOptions.StepSize"/> epochs.</summary>
    Step,
}

/// <summary>Settings of a training or distillation run. <see cref="Validate"/> checks them before anything runs.</summary>
public sealed record TrainingOptions
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>The optimiser.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>The base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>SGD's momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>L2 weight decay (coupled, as in torch.optim).</summary>
    public double WeightDecay { get; init; }

    /// <summary>The learning-rate schedule.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Constant;

    /// <summary>For <see cref="ScheduleKind.Step"/>: epochs between decays.</summary>
    public int StepSize { get; init; } = 10;

    /// <summary>For <see cref="ScheduleKind.Step"/>: the decay factor.</summary>
    public double StepGamma { get; init; } = 0.1;

    /// <summary>Seeds the shuffling and dropout. The same seed gives the same run on the CPU.</summary>
    public long Seed { get; init; }

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>When set, a checkpoint is written here after every epoch (atomically), and <see cref="Resume"/> reads it.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Continue from <see cref="CheckpointPath"/> when it exists.</summary>
    public bool Resume { get; init; }

    /// <summary>Distillation: compute the teacher's outputs once and reuse them every epoch (exact without augmentation).</summary>
    public bool CacheTeacherOutputs { get; init; } = true;

    /// <summary>Evaluate on the test set after every epoch (the default). When false, only after the last epoch; the
    /// other epochs' test metrics are NaN. Saves time where only the final result counts (the experiment table).</summary>
    public bool EvaluateEveryEpoch { get; init; } = true;

    /// <summary>Images per batch when evaluating and when caching teacher outputs. 256 keeps the largest transient
    /// activation small (the CNN teacher's first block at 1,000 images is 100 MB), so that the allocator does not keep
    /// such buffers between epochs; it is as fast as larger batches on a CPU.</summary>
    public int EvaluationBatchSize { get; init; } = 256;

    /// <summary>How often, in batches, to report progress within an epoch and to read the device's divergence check (a
    /// non-finite loss stops the run there, or at the end of the epoch). Each is one synchronisation with the device;
    /// no other batch waits for the host.</summary>
    public int ProgressEveryBatches { get; init; } = 20;

    /// <summary>Checks every setting and throws an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public TrainingOptions Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be at least 1.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be a finite number > 0.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "Momentum must be in [0, 1).");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be a finite number >= 0.");
        if (StepSize < 1) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, "StepSize must be at least 1.");
        if (!(StepGamma > 0 && StepGamma <= 1)) throw new ArgumentOutOfRangeException(nameof(StepGamma), StepGamma, "StepGamma must be in (0, 1].");
        if (EvaluationBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "EvaluationBatchSize must be at least 1.");
        if (ProgressEveryBatches < 1) throw new ArgumentOutOfRangeException(nameof(ProgressEveryBatches), ProgressEveryBatches, "ProgressEveryBatches must be at least 1.");
        if (Resume && CheckpointPath is null) throw new ArgumentException("Resume needs a CheckpointPath.", nameof(Resume));
        return this;
    }

    /// <summary>The learning rate for epoch <paramref name="epoch"/> (1-based).</summary>
    public double LearningRateAt(int epoch) => Schedule switch
    {
        ScheduleKind.Cosine => LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / Epochs)),
        ScheduleKind.Step => LearningRate * Math.Pow(StepGamma, (epoch - 1) / StepSize),
        _ => LearningRate,
    };
}

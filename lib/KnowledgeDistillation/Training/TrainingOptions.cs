namespace KnowledgeDistillation.Training;

/// <summary>The optimiser.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with momentum.</summary>
    Sgd,
    /// <summary>Adam (Kingma and Ba, 2015).</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter, 2019): <see cref="TrainingOptions.WeightDecay"/>
    /// shrinks the weights directly instead of adding to the gradient.</summary>
    AdamW,
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
    /// <summary>Set every optimiser step, not every epoch: a linear warm-up from 0 to the base rate over
    /// <see cref="TrainingOptions.WarmupSteps"/> steps, then a cosine decay to <see cref="TrainingOptions.FinalLearningRateFraction"/>
    /// of it at the last step (the usual schedule of language models).</summary>
    WarmupCosine,
}

/// <summary>The number format the model computes in while it trains.</summary>
public enum TrainingPrecision
{
    /// <summary>32-bit floats throughout (the default).</summary>
    Float32,
    /// <summary>Mixed precision: the model's forward and backward passes run in bfloat16 (float32's range with 8
    /// significant bits), while the optimiser keeps float32 master weights and its state in float32, and the losses are
    /// computed in float32. Evaluations, checkpoints and the trained model hold the float32 weights. Fast where the
    /// hardware has bfloat16 arithmetic (<see cref="Runtime.Devices.HasFastBFloat16"/>); elsewhere correct but slow.
    /// Image classifiers only.</summary>
    BFloat16,
}

/// <summary>Settings of a training or distillation run. <see cref="Validate"/> checks them before anything runs.</summary>
public sealed record TrainingOptions
{
    /// <summary>Passes over the training set (unless <see cref="Steps"/> is set).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>When above 0, the run is this many optimiser steps instead of <see cref="Epochs"/> passes; each pass draws a
    /// new batch order, and the last pass may stop part-way. 0 (the default): <see cref="Epochs"/> passes.</summary>
    public int Steps { get; init; }

    /// <summary>Examples (images, sequences) per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>The optimiser.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>The base learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>SGD's momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay: L2, added to the gradient, for SGD and Adam (as in torch.optim); decoupled for AdamW.</summary>
    public double WeightDecay { get; init; }

    /// <summary>When above 0, the gradients' joint 2-norm is clipped to this before every step, as
    /// <c>torch.nn.utils.clip_grad_norm_</c> does (without reading the norm on the host). 0 (the default): no clipping.</summary>
    public double ClipGradNorm { get; init; }

    /// <summary>The learning-rate schedule.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Constant;

    /// <summary>For <see cref="ScheduleKind.Step"/>: epochs between decays.</summary>
    public int StepSize { get; init; } = 10;

    /// <summary>For <see cref="ScheduleKind.Step"/>: the decay factor.</summary>
    public double StepGamma { get; init; } = 0.1;

    /// <summary>For <see cref="ScheduleKind.WarmupCosine"/>: steps of linear warm-up from 0 to the base rate.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>For <see cref="ScheduleKind.WarmupCosine"/>: the last step's rate as a fraction of the base rate, in [0, 1].</summary>
    public double FinalLearningRateFraction { get; init; }

    /// <summary>Seeds the shuffling and dropout. The same seed gives the same run on the CPU.</summary>
    public long Seed { get; init; }

    /// <summary><c>auto</c>, <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>The number format of the model's forward and backward passes (<see cref="TrainingPrecision"/>).</summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Float32;

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

    /// <summary>How often, in optimiser steps counted over the run, to report progress within an epoch and to read the
    /// device's divergence check (a non-finite loss stops the run there, or at the end of the epoch); progress is also
    /// reported at the end of every epoch. Each is one synchronisation with the device; no other batch waits for the
    /// host.</summary>
    public int ProgressEveryBatches { get; init; } = 20;

    /// <summary>Checks every setting and throws an <see cref="ArgumentException"/> naming the first bad one.</summary>
    public TrainingOptions Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be at least 1.");
        if (Steps < 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Steps must be 0 (use Epochs) or more.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be a finite number > 0.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "Momentum must be in [0, 1).");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "WeightDecay must be a finite number >= 0.");
        if (StepSize < 1) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, "StepSize must be at least 1.");
        if (!(StepGamma > 0 && StepGamma <= 1)) throw new ArgumentOutOfRangeException(nameof(StepGamma), StepGamma, "StepGamma must be in (0, 1].");
        if (!(ClipGradNorm >= 0) || double.IsInfinity(ClipGradNorm)) throw new ArgumentOutOfRangeException(nameof(ClipGradNorm), ClipGradNorm, "ClipGradNorm must be a finite number >= 0 (0: no clipping).");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must be at least 0.");
        if (!(FinalLearningRateFraction >= 0 && FinalLearningRateFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(FinalLearningRateFraction), FinalLearningRateFraction, "FinalLearningRateFraction must be in [0, 1].");
        if (EvaluationBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "EvaluationBatchSize must be at least 1.");
        if (ProgressEveryBatches < 1) throw new ArgumentOutOfRangeException(nameof(ProgressEveryBatches), ProgressEveryBatches, "ProgressEveryBatches must be at least 1.");
        if (!Enum.IsDefined(Precision)) throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "Precision must be Float32 or BFloat16.");
        if (Resume && CheckpointPath is null) throw new ArgumentException("Resume needs a CheckpointPath.", nameof(Resume));
        return this;
    }

    /// <summary>The learning rate for epoch <paramref name="epoch"/> (1-based) of the epoch schedules.</summary>
    /// <exception cref="InvalidOperationException">The schedule is <see cref="ScheduleKind.WarmupCosine"/>, which changes
    /// the rate every step: use <see cref="LearningRateAtStep"/>.</exception>
    public double LearningRateAt(int epoch) => Schedule switch
    {
        ScheduleKind.Cosine => LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / Epochs)),
        ScheduleKind.Step => LearningRate * Math.Pow(StepGamma, (epoch - 1) / StepSize),
        ScheduleKind.WarmupCosine => throw new InvalidOperationException("WarmupCosine sets the rate every step; use LearningRateAtStep."),
        _ => LearningRate,
    };

    /// <summary>The learning rate for optimiser step <paramref name="step"/> (1-based) of a run of
    /// <paramref name="steps"/> steps with <paramref name="stepsPerEpoch"/> steps a pass: the warm-up and cosine of
    /// <see cref="ScheduleKind.WarmupCosine"/>, or the rate of the step's epoch for the epoch schedules.</summary>
    public double LearningRateAtStep(int step, int steps, int stepsPerEpoch = 1)
    {
        if (Schedule != ScheduleKind.WarmupCosine)
        {
            // An epoch schedule over the passes this run makes (Epochs, or as many as Steps needs).
            int epoch = (step - 1) / stepsPerEpoch + 1;
            return (Steps > 0 ? this with { Epochs = (steps + stepsPerEpoch - 1) / stepsPerEpoch } : this).LearningRateAt(epoch);
        }
        if (step <= WarmupSteps) return LearningRate * step / WarmupSteps;
        double progress = steps == WarmupSteps ? 1 : (double)(step - WarmupSteps) / (steps - WarmupSteps);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(progress, 0, 1)));
        return LearningRate * (FinalLearningRateFraction + (1 - FinalLearningRateFraction) * cosine);
    }

    /// <summary>The optimiser steps of the run: <see cref="Steps"/> when set, else <see cref="Epochs"/> passes of
    /// <paramref name="stepsPerEpoch"/>.</summary>
    public int TotalSteps(int stepsPerEpoch) => Steps > 0 ? Steps : Epochs * stepsPerEpoch;
}

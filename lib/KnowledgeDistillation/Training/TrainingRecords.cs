namespace KnowledgeDistillation.Training;

/// <summary>The metrics of one epoch.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="LearningRate">The rate of the epoch's first step (the whole epoch's, but with <see cref="ScheduleKind.WarmupCosine"/>).</param>
/// <param name="TrainLoss">Mean training objective over the examples of the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch (while the weights changed); NaN where the step predicts
/// no classes (a language model).</param>
/// <param name="TestLoss">Cross entropy on the test set after the epoch; NaN where the epoch was not evaluated.</param>
/// <param name="TestAccuracy">Accuracy on the test set after the epoch.</param>
/// <param name="TestEce">Expected calibration error on the test set after the epoch.</param>
/// <param name="Seconds">Wall time of the epoch's training part.</param>
/// <param name="RssMegabytes">The process's resident memory after the epoch.</param>
/// <param name="Terms">Mean of each objective term over the epoch (distillation), by name.</param>
public sealed record EpochRecord(
    int Epoch, double LearningRate, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double TestEce,
    double Seconds, double RssMegabytes, IReadOnlyDictionary<string, double> Terms);

/// <summary>One optimiser step.</summary>
/// <param name="Step">1-based, counted over the run.</param>
/// <param name="Epoch">The 1-based pass over the training examples it belongs to.</param>
/// <param name="LearningRate">The rate used.</param>
/// <param name="Loss">The batch's objective (read from the device at the end of the epoch, not at the step).</param>
/// <param name="Seconds">Time from the start of the run until the step was issued (on a GPU, the device may finish it later).</param>
public sealed record StepRecord(int Step, int Epoch, double LearningRate, double Loss, double Seconds);

/// <summary>The outcome of a run: its history and the final evaluation.</summary>
/// <param name="History">One record per epoch.</param>
/// <param name="Final">The test-set evaluation after the last epoch.</param>
public sealed record TrainingResult(IReadOnlyList<EpochRecord> History, EvaluationResult Final)
{
    /// <summary>One record per optimiser step.</summary>
    public IReadOnlyList<StepRecord> Steps { get; init; } = [];
}

/// <summary>Progress within a run, reported through <see cref="TrainingCallbacks.Progress"/>.</summary>
/// <param name="Epoch">1-based current epoch.</param>
/// <param name="Epochs">Total epochs.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches in this epoch (fewer in the last one of a run limited by <see cref="TrainingOptions.Steps"/>).</param>
/// <param name="RunningLoss">Mean objective over the examples of the batches done in this epoch.</param>
/// <param name="Elapsed">Time since the run started (this process).</param>
/// <param name="Completed">The record of the epoch just finished, when this report ends an epoch; otherwise null.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double RunningLoss, TimeSpan Elapsed, EpochRecord? Completed)
{
    /// <summary>Optimiser steps done in the run (0 where the reporter did not say).</summary>
    public int Step { get; init; }

    /// <summary>Optimiser steps in the whole run (0 where the reporter did not say).</summary>
    public int Steps { get; init; }

    /// <summary>The fraction of the run done, 0 to 1.</summary>
    public double Fraction => Steps > 0 ? (double)Step / Steps : ((Epoch - 1) + (double)Batch / Batches) / Epochs;
}

/// <summary>Hooks into a run.</summary>
public sealed record TrainingCallbacks
{
    /// <summary>Called every <see cref="TrainingOptions.ProgressEveryBatches"/> steps and at the end of each epoch.</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>Cancels the run between batches; the last finished epoch's checkpoint stays.</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>The loss stopped being finite. The message names the epoch and the batch.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message)
{
}

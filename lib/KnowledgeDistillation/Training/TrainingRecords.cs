namespace KnowledgeDistillation.Training;

/// <summary>The metrics of one epoch.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="LearningRate">The rate used in this epoch.</param>
/// <param name="TrainLoss">Mean training objective over the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch (while the weights changed).</param>
/// <param name="TestLoss">Cross entropy on the test set after the epoch.</param>
/// <param name="TestAccuracy">Accuracy on the test set after the epoch.</param>
/// <param name="TestEce">Expected calibration error on the test set after the epoch.</param>
/// <param name="Seconds">Wall time of the epoch's training part.</param>
/// <param name="RssMegabytes">The process's resident memory after the epoch.</param>
/// <param name="Terms">Mean of each objective term over the epoch (distillation), by name.</param>
public sealed record EpochRecord(
    int Epoch, double LearningRate, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double TestEce,
    double Seconds, double RssMegabytes, IReadOnlyDictionary<string, double> Terms);

/// <summary>The outcome of a run: its history and the final evaluation.</summary>
/// <param name="History">One record per epoch.</param>
/// <param name="Final">The test-set evaluation after the last epoch.</param>
public sealed record TrainingResult(IReadOnlyList<EpochRecord> History, EvaluationResult Final);

/// <summary>Progress within a run, reported through <see cref="TrainingCallbacks.Progress"/>.</summary>
/// <param name="Epoch">1-based current epoch.</param>
/// <param name="Epochs">Total epochs.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="RunningLoss">Mean objective over the batches done in this epoch.</param>
/// <param name="Elapsed">Time since the run started (this process).</param>
/// <param name="Completed">The record of the epoch just finished, when this report ends an epoch; otherwise null.</param>
public sealed record TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double RunningLoss, TimeSpan Elapsed, EpochRecord? Completed)
{
    /// <summary>The fraction of the run done, 0 to 1.</summary>
    public double Fraction => ((Epoch - 1) + (double)Batch / Batches) / Epochs;
}

/// <summary>Hooks into a run.</summary>
public sealed record TrainingCallbacks
{
    /// <summary>Called every <see cref="TrainingOptions.ProgressEveryBatches"/> batches and at the end of each epoch.</summary>
    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>Cancels the run between batches; the last finished epoch's checkpoint stays.</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>The loss stopped being finite. The message names the epoch and the batch.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message)
{
}

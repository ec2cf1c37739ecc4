using System.Diagnostics;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli;

/// <summary>
/// Progress for long runs: on a terminal, one line redrawn in place with a bar, the ETA and the current loss and
/// accuracy; when the output is redirected (CI, logs), one line per epoch.
/// </summary>
sealed class ConsoleProgress(string label)
{
    readonly bool interactive = !Console.IsErrorRedirected;
    readonly Stopwatch sinceDraw = Stopwatch.StartNew();

    public void Report(TrainingProgress p)
    {
        var eta = p.Fraction > 0 ? TimeSpan.FromSeconds(p.Elapsed.TotalSeconds * (1 - p.Fraction) / p.Fraction) : TimeSpan.Zero;
        if (p.Completed is { } r)
        {
            if (interactive) Console.Error.Write("\r" + new string(' ', Math.Max(0, Console.WindowWidth - 1)) + "\r");
            Console.Error.WriteLine($"{label} epoch {r.Epoch}/{p.Epochs}  loss {r.TrainLoss:F4}  train acc {r.TrainAccuracy:P2}  test acc {r.TestAccuracy:P2}  " +
                                    $"ECE {r.TestEce:F4}  {r.Seconds:F1} s  RSS {r.RssMegabytes:F0} MB  ETA {eta:hh\\:mm\\:ss}");
            return;
        }
        if (!interactive || sinceDraw.ElapsedMilliseconds < 200) return;
        sinceDraw.Restart();
        const int width = 24;
        int filled = (int)Math.Round(width * p.Fraction);
        Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('.', width - filled)}] {p.Fraction:P0}  epoch {p.Epoch}/{p.Epochs} " +
                            $"batch {p.Batch}/{p.Batches}  loss {p.RunningLoss:F4}  ETA {eta:hh\\:mm\\:ss} ");
    }
}

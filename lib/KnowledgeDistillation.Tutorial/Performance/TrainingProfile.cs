using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Performance;

/// <summary>One distillation method's epoch against a plain epoch, the teacher's outputs cached.</summary>
/// <param name="Method">The method's name (<see cref="DistillationMethods.Name"/>).</param>
/// <param name="Seconds">Seconds of the method's epoch, one per round.</param>
/// <param name="PlainSeconds">Seconds of the plain epoch of the same round, one per round.</param>
public sealed record MethodEpochTime(string Method, IReadOnlyList<double> Seconds, IReadOnlyList<double> PlainSeconds)
{
    /// <summary>The fastest of the method's epochs over the fastest plain epoch (see <see cref="EpochTimes"/>' remarks on
    /// why the fastest).</summary>
    public double Ratio => Seconds.Min() / PlainSeconds.Min();
}

/// <summary>Where one layer of a model spends a training step.</summary>
/// <param name="Layer">The layer's name in the model, for example <c>pool1</c>.</param>
/// <param name="Kind">Its type, for example <c>MaxPool2d</c>.</param>
/// <param name="Output">Its output shape for the batch.</param>
/// <param name="ForwardMs">Median milliseconds of its forward pass alone (training mode, building the graph).</param>
/// <param name="BackwardMs">Median milliseconds its backward pass adds (forward and backward, less the forward).</param>
public sealed record LayerTime(string Layer, string Kind, string Output, double ForwardMs, double BackwardMs);

/// <summary>Where a plain training step of a model goes, per batch.</summary>
/// <param name="Layers">Each layer in the order the forward pass calls it.</param>
/// <param name="BatchMs">Median milliseconds of selecting a batch from the training tensor (index_select).</param>
/// <param name="StepMs">Median milliseconds of a whole step: batch, forward, loss, backward and the optimiser.</param>
/// <param name="ForwardMs">Median milliseconds of the model's forward pass, as one call.</param>
/// <param name="BackwardMs">Median milliseconds of the loss's backward pass, as one call.</param>
/// <param name="OptimizerMs">Median milliseconds of the optimiser's step (Adam).</param>
/// <param name="BatchSize">The batch size.</param>
public sealed record StepProfile(IReadOnlyList<LayerTime> Layers, double BatchMs, double StepMs, double ForwardMs, double BackwardMs, double OptimizerMs, int BatchSize);

/// <summary>
/// The profile of training a student (issue: where a full run of the notebooks spends its time): each distillation
/// method's epoch against a plain one with the teacher's outputs cached (<see cref="MeasureMethods"/>), and a plain step
/// split into batch selection, each layer's forward and backward, and the optimiser (<see cref="ProfileStep"/>).
/// </summary>
/// <remarks>On the CPU every operation finishes before the next starts, so a stopwatch around a call measures it; on a
/// GPU the figures would need synchronisation, so both measurements run on the CPU.</remarks>
public static class TrainingProfile
{
    /// <summary>
    /// For each of <paramref name="methods"/> (default: all nine), the second epoch of a two-epoch distillation run of
    /// the CNN student with the teacher's outputs cached, against the second epoch of a plain run, alternating plain and
    /// every method in each of <paramref name="rounds"/> rounds. The settings are the methods' defaults (T = 4, α = 0.9,
    /// the default weights), Adam, batches of 128, no evaluation but the last epoch's.
    /// </summary>
    public static IReadOnlyList<MethodEpochTime> MeasureMethods(LabelledImages train, LabelledImages test, FeatureModel teacher, int rounds = 2,
        IReadOnlyList<DistillationMethod>? methods = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), rounds, "rounds must be at least 1.");
        methods ??= DistillationMethods.All;
        var options = new TrainingOptions { Epochs = 2, BatchSize = 128, Optimizer = OptimizerKind.Adam, LearningRate = 5e-3, Seed = 0, EvaluateEveryEpoch = false };
        var plain = new List<double>();
        var times = methods.ToDictionary(m => m, _ => new List<double>());
        for (int r = 0; r < rounds; r++)
        {
            plain.Add(Trainer.Train(Student(), train, test, options).History[^1].Seconds);
            foreach (var method in methods)
            {
                var student = Student();
                using var objective = DistillationMethods.Build(method, student, teacher, new MethodSettings());
                times[method].Add(Trainer.Distill(student, teacher, objective, train, test, options).History[^1].Seconds);
                log?.Invoke($"round {r + 1}/{rounds}: {DistillationMethods.Name(method)} {times[method][^1]:F2} s (plain {plain[^1]:F2} s)");
            }
        }
        return [.. methods.Select(m => new MethodEpochTime(DistillationMethods.Name(m), times[m], plain))];
    }

    /// <summary>
    /// Profiles a plain training step (cross entropy, Adam) of <paramref name="model"/> on batches of
    /// <paramref name="batchSize"/> from <paramref name="train"/>: the whole step and its parts, then each direct child
    /// layer alone, forward and backward, in the order the model calls them (the model must be a plain chain of its
    /// children, as <see cref="SmallCnn"/> is; the input of a <c>Linear</c> layer is flattened). Medians over
    /// <paramref name="repeats"/> runs after two to warm up. The model's weights change (the optimiser steps).
    /// </summary>
    public static StepProfile ProfileStep(FeatureModel model, LabelledImages train, int batchSize = 128, int repeats = 20)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "repeats must be at least 1.");
        model.train();
        using var optimizer = optim.Adam(model.parameters(), 5e-3);
        using var generator = new Generator(0);
        var batchTimes = new List<double>();
        var forwardTimes = new List<double>();
        var backwardTimes = new List<double>();
        var stepTimes = new List<double>();
        var totalTimes = new List<double>();
        for (int i = 0; i < repeats + 2; i++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            var index = randint(0, train.Count, [batchSize], dtype: ScalarType.Int64, generator: generator);
            var x = train.Images.index_select(0, index);
            var y = train.Labels.index_select(0, index);
            double batch = clock.Elapsed.TotalMilliseconds;
            optimizer.zero_grad();
            var loss = F.cross_entropy(model.call(x), y);
            double forward = clock.Elapsed.TotalMilliseconds;
            loss.backward();
            double backward = clock.Elapsed.TotalMilliseconds;
            optimizer.step();
            double total = clock.Elapsed.TotalMilliseconds;
            if (i < 2) continue;
            batchTimes.Add(batch);
            forwardTimes.Add(forward - batch);
            backwardTimes.Add(backward - forward);
            stepTimes.Add(total - backward);
            totalTimes.Add(total);
        }

        var layers = new List<LayerTime>();
        using (var scope = NewDisposeScope())
        {
            Tensor input = train.Images.narrow(0, 0, Math.Min(batchSize, train.Count));
            bool first = true;
            foreach (var (name, child) in model.named_children())
            {
                if (child is not nn.Module<Tensor, Tensor> layer) continue;
                if (child is TorchSharp.Modules.Linear && input.dim() > 2) input = input.flatten(1);
                // As in training: the images need no gradient, every later activation does.
                var x = input.detach().requires_grad_(!first);
                first = false;
                var output = layer.call(x);
                double forward = Median(repeats, () => layer.call(x));
                double both = Median(repeats, () =>
                {
                    var o = layer.call(x);
                    o.sum().backward();
                    return o;
                });
                layers.Add(new LayerTime(name, child.GetType().Name, string.Join("×", output.shape), forward, Math.Max(0, both - forward)));
                input = output.detach();
            }
        }
        return new StepProfile(layers, Median(batchTimes), Median(totalTimes), Median(forwardTimes), Median(backwardTimes), Median(stepTimes), batchSize);
    }

    /// <summary>Median milliseconds of <paramref name="work"/> over <paramref name="repeats"/> calls after two warm-ups,
    /// each in its own dispose scope.</summary>
    static double Median(int repeats, Func<Tensor> work)
    {
        var times = new List<double>();
        for (int i = 0; i < repeats + 2; i++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            work();
            if (i >= 2) times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return Median(times);
    }

    static double Median(List<double> values) => EpochTimes.Median(values);

    static SmallCnn Student()
    {
        manual_seed(1);
        return SmallCnn.Student();
    }
}

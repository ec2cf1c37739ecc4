using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Training;

/// <summary>
/// Trains classifiers: plainly (a teacher, or a student from scratch) or by distillation from a frozen teacher.
/// </summary>
/// <remarks>
/// <para>Everything lives on one device (<see cref="TrainingOptions.Device"/>): the model, the whole data set as one
/// tensor, the teacher and its cached outputs. Each epoch draws one shuffled index permutation from a seeded generator;
/// batches are gathered from it on the device, with no per-batch copies from the host. Each batch runs in its own
/// dispose scope, so native memory stays flat across epochs.</para>
/// <para>No batch waits for the host: the loss sum, the correct count, the terms' sums and the divergence check
/// accumulate as tensors on the device, and come to the host in one transfer at the end of the epoch, and every
/// <see cref="TrainingOptions.ProgressEveryBatches"/> batches (the running loss and the divergence check). Training labels
/// are range-checked once per run, not per batch.</para>
/// <para>On the CPU, the same seed gives the same run, bit for bit. With a checkpoint path, every epoch ends with an
/// atomic checkpoint, and a resumed run continues exactly where the interrupted one stopped.</para>
/// </remarks>
public static class Trainer
{
    /// <summary>Trains <paramref name="model"/> with cross entropy on the hard labels.</summary>
    public static TrainingResult Train(nn.Module<Tensor, Tensor> model, LabelledImages train, LabelledImages test,
        TrainingOptions options, TrainingCallbacks? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var step = new PlainStep(model);
        return Run(model, step, [], train, test, options, callbacks ?? new(), $"train {model.GetName()}");
    }

    /// <summary>
    /// Distils <paramref name="teacher"/> into <paramref name="student"/> with <paramref name="objective"/>. The teacher
    /// stays frozen (its parameters' <c>requires_grad</c> are restored afterwards), in evaluation mode, under <c>no_grad</c>; only the student (and trainable terms such as a FitNets
    /// regressor) learn. Shapes are checked before training starts.
    /// </summary>
    /// <param name="student">The model that learns.</param>
    /// <param name="teacher">The frozen teacher.</param>
    /// <param name="objective">The loss terms and their weights.</param>
    /// <param name="train">The training images.</param>
    /// <param name="test">The test set, evaluated after every epoch.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="callbacks">Progress and cancellation.</param>
    /// <param name="precomputed">The teacher's outputs for <paramref name="train"/>, computed once with
    /// <see cref="TeacherOutputs.Compute"/> and shared by several runs (seeds, methods); the trainer does not dispose them.
    /// When null and <see cref="TrainingOptions.CacheTeacherOutputs"/> is on, the run computes its own.</param>
    public static TrainingResult Distill(nn.Module<Tensor, Tensor> student, nn.Module<Tensor, Tensor> teacher, DistillationObjective objective,
        LabelledImages train, LabelledImages test, TrainingOptions options, TrainingCallbacks? callbacks = null, TeacherOutputs? precomputed = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(objective);
        using var step = new DistillStep(student, teacher, objective, precomputed);
        return Run(student, step, objective.parameters().ToList(), train, test, options, callbacks ?? new(),
            $"distill {teacher.GetName()}->{student.GetName()} [{string.Join(",", objective.Terms.Select(t => $"{t.Name}:{t.Weight}"))}]");
    }

    /// <summary>
    /// Distils from the teacher's logits for every training image, computed beforehand, instead of from the teacher
    /// model. Compute them once with <see cref="Evaluator.Logits"/> (evaluation mode, <c>no_grad</c>) and reuse them for
    /// many runs (seeds, sweeps): each run then skips the teacher's forward pass over the training set.
    /// </summary>
    /// <remarks>Exact, because the training images are not augmented: the teacher's outputs never change. Row i of
    /// <paramref name="teacherLogits"/> must belong to image i of <paramref name="train"/>. Only logit terms are allowed;
    /// feature terms need the teacher model.</remarks>
    /// <param name="student">The model that learns.</param>
    /// <param name="teacherLogits">The teacher's logits [train.Count, classes]; treated as constants, never changed.</param>
    /// <param name="objective">A logit-only objective, such as Hinton KD.</param>
    /// <param name="train">The training images, in the order of <paramref name="teacherLogits"/>.</param>
    /// <param name="test">The test set, evaluated after every epoch.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="callbacks">Progress and cancellation.</param>
    /// <exception cref="ArgumentException">The logits do not match the training set or the student, or a term needs features.</exception>
    public static TrainingResult Distill(nn.Module<Tensor, Tensor> student, Tensor teacherLogits, DistillationObjective objective,
        LabelledImages train, LabelledImages test, TrainingOptions options, TrainingCallbacks? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacherLogits);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(train);
        if (teacherLogits.dim() != 2 || teacherLogits.shape[0] != train.Count)
            throw new ArgumentException(
                $"The teacher's logits must be [{train.Count}, classes], one row per training image; got [{string.Join(", ", teacherLogits.shape)}].", nameof(teacherLogits));
        if (objective.Terms.FirstOrDefault(t => t.UsesFeatures) is { } featureTerm)
            throw new ArgumentException($"The term '{featureTerm.Name}' needs the teacher's features; precomputed logits have none. Pass the teacher model instead.", nameof(objective));
        using var step = new DistillStep(student, null, objective, null, teacherLogits);
        return Run(student, step, objective.parameters().ToList(), train, test, options, callbacks ?? new(),
            $"distill logits[{string.Join("x", teacherLogits.shape)}]->{student.GetName()} [{string.Join(",", objective.Terms.Select(t => $"{t.Name}:{t.Weight}"))}]");
    }

    static TrainingResult Run(nn.Module<Tensor, Tensor> model, IStep step, IReadOnlyList<TorchSharp.Modules.Parameter> extraParameters,
        LabelledImages train, LabelledImages test, TrainingOptions options, TrainingCallbacks callbacks, string description)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        options.Validate();
        var device = Devices.Resolve(options.Device);
        var clock = Stopwatch.StartNew();

        manual_seed(options.Seed);
        using var shuffle = new Generator((ulong)options.Seed);
        model.to(device);
        using var x = OnDevice(train.Images, device);
        using var y = OnDevice(train.Labels, device);
        using var testSet = LabelledImages.Trusted(OnDevice(test.Images, device), OnDevice(test.Labels, device), test.Split);
        step.Prepare(device, x, y, options);

        var parameters = model.parameters().Concat(extraParameters).ToList();
        using var optimizer = options.Optimizer == OptimizerKind.Sgd
            ? (TorchSharp.Modules.OptimizerHelper)optim.SGD(parameters, options.LearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay)
            : optim.Adam(parameters, options.LearningRate, weight_decay: options.WeightDecay);

        string fingerprint = $"{description} | n={x.shape[0]} bs={options.BatchSize} epochs={options.Epochs} {options.Optimizer} lr={options.LearningRate} {options.Schedule} wd={options.WeightDecay} seed={options.Seed}";
        var history = new List<EpochRecord>();
        int start = 1;
        if (options.Resume && options.CheckpointPath is { } resumePath && File.Exists(resumePath))
        {
            var state = Checkpoint.Load(resumePath, model, optimizer, shuffle, fingerprint);
            history.AddRange(state.History);
            start = state.Epoch + 1;
        }

        long n = x.shape[0];
        EvaluationResult? last = null;
        int batches = (int)((n + options.BatchSize - 1) / options.BatchSize);
        for (int epoch = start; epoch <= options.Epochs; epoch++)
        {
            double lr = options.LearningRateAt(epoch);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            var epochClock = Stopwatch.StartNew();
            model.train();
            using var drawn = randperm(n, generator: shuffle);
            using var permutation = OnDevice(drawn, device);
            using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
            using var correct = zeros(1, dtype: ScalarType.Int64, device: device);
            // The first batch whose loss was not finite (`batches` while there is none) and that loss. They stay on the
            // device, so that no batch waits for the host to look at its loss; they are read at the progress points and
            // at the end of the epoch, before any evaluation or checkpoint.
            using var firstBad = full(1, batches, dtype: ScalarType.Int64, device: device);
            using var badLoss = zeros(1, dtype: ScalarType.Float64, device: device);
            var termSums = new Dictionary<string, Tensor>();
            void ThrowIfDiverged(double firstBadBatch, double lossValue)
            {
                if (firstBadBatch >= batches) return;
                throw new TrainingDivergedException(
                    $"The training loss became {lossValue} at epoch {epoch}, batch {(long)firstBadBatch + 1} of {batches}; training stopped. " +
                    (options.CheckpointPath is not null && epoch > 1 ? $"The last good checkpoint (epoch {epoch - 1}) is {options.CheckpointPath}." : "No checkpoint was written for this epoch.") +
                    " Lower the learning rate or check the inputs.");
            }
            try
            {
                for (int b = 0; b < batches; b++)
                {
                    callbacks.Cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    long from = (long)b * options.BatchSize, count = Math.Min(options.BatchSize, n - from);
                    var index = permutation.narrow(0, from, count);
                    var labels = y.index_select(0, index);
                    optimizer.zero_grad();
                    var (loss, logits, terms) = step.Loss(x.index_select(0, index), labels, index);
                    loss.backward();
                    optimizer.step();
                    using (no_grad())
                    {
                        var value = loss.detach().to_type(ScalarType.Float64);
                        // This batch's index where the loss is not finite, `batches` where it is; the smallest so far wins.
                        firstBad.copy_(firstBad.minimum(value.isfinite().logical_not().to_type(ScalarType.Int64).mul(b - batches).add(batches).reshape(1)));
                        badLoss.copy_(where(firstBad.eq(b), value.reshape(1), badLoss));
                        lossSum.add_(value.mul(count));
                        correct.add_(logits.argmax(1).eq(labels).sum());
                        foreach (var (name, term) in terms)
                        {
                            if (!termSums.TryGetValue(name, out var sum))
                                termSums[name] = sum = zeros(1, dtype: ScalarType.Float64, device: device).DetachFromDisposeScope();
                            sum.add_(term.to_type(ScalarType.Float64).mul(count));
                        }
                    }
                    if ((b + 1) % options.ProgressEveryBatches == 0 && b + 1 < batches)
                    {
                        var running = ToHost(firstBad, badLoss, lossSum);
                        ThrowIfDiverged(running[0], running[1]);
                        callbacks.Progress?.Invoke(new TrainingProgress(epoch, options.Epochs, b + 1, batches, running[2] / (from + count), clock.Elapsed, null));
                    }
                }
                double seconds = epochClock.Elapsed.TotalSeconds;
                // The epoch's one transfer: divergence, loss and correct sums, and each term's sum.
                var names = termSums.Keys.ToList();
                var totals = ToHost([firstBad, badLoss, lossSum, correct, .. names.Select(name => termSums[name])]);
                ThrowIfDiverged(totals[0], totals[1]);
                last = null;
                if (options.EvaluateEveryEpoch || epoch == options.Epochs)
                    last = Evaluator.Evaluate(model, testSet, options.EvaluationBatchSize);
                var record = new EpochRecord(epoch, lr, totals[2] / n, totals[3] / n,
                    last?.Loss ?? double.NaN, last?.Accuracy ?? double.NaN, last?.Ece ?? double.NaN, seconds, ProcessMemory.ResidentMegabytes(),
                    names.Select((name, i) => (name, totals[4 + i] / n)).ToDictionary(t => t.name, t => t.Item2));
                history.Add(record);
                if (options.CheckpointPath is { } path)
                    Checkpoint.Save(path, model, optimizer, shuffle, new Checkpoint.State(epoch, history, fingerprint));
                callbacks.Progress?.Invoke(new TrainingProgress(epoch, options.Epochs, batches, batches, record.TrainLoss, clock.Elapsed, record));
            }
            finally
            {
                foreach (var sum in termSums.Values) sum.Dispose();
            }
        }
        // The last epoch's evaluation is the final one (same weights, evaluation mode); evaluate again only when no epoch
        // ran here (a resumed run that had already finished).
        return new TrainingResult(history, last ?? Evaluator.Evaluate(model, testSet, options.EvaluationBatchSize));
    }

    /// <summary>One-element tensors, in order, as doubles, in one transfer to the host (a single synchronisation with the
    /// device). Counts below 2^53 and float64 sums come back exactly.</summary>
    static double[] ToHost(params Tensor[] scalars)
    {
        using var scope = NewDisposeScope();
        return cat(scalars.Select(t => t.to_type(ScalarType.Float64).reshape(1)).ToList(), 0).cpu().data<double>().ToArray();
    }

    /// <summary>The tensor on <paramref name="device"/> as a new handle (an alias when it is there already), so that
    /// disposing it never frees the caller's tensor.</summary>
    static Tensor OnDevice(Tensor t, Device device) =>
        t.device_type == device.type && t.device_index == device.index ? t.alias() : t.to(device);

    /// <summary>What one training step computes: the loss to minimise, the logits for accuracy, and named terms.</summary>
    interface IStep
    {
        /// <summary>Moves what the step needs to the device and checks shapes (and, where a term uses them, the labels)
        /// before the first batch.</summary>
        void Prepare(Device device, Tensor images, Tensor labels, TrainingOptions options);
        (Tensor Loss, Tensor Logits, IReadOnlyDictionary<string, Tensor> Terms) Loss(Tensor images, Tensor labels, Tensor index);
    }

    sealed class PlainStep(nn.Module<Tensor, Tensor> model) : IStep
    {
        public void Prepare(Device device, Tensor images, Tensor labels, TrainingOptions options) { }

        public (Tensor, Tensor, IReadOnlyDictionary<string, Tensor>) Loss(Tensor images, Tensor labels, Tensor index)
        {
            var logits = model.call(images);
            return (F.cross_entropy(logits, labels), logits, new Dictionary<string, Tensor>());
        }
    }

    /// <summary>A distillation step from a teacher model (with its outputs cached, shared, or computed per batch), or from
    /// precomputed teacher logits (then teacher is null).</summary>
    sealed class DistillStep(nn.Module<Tensor, Tensor> student, nn.Module<Tensor, Tensor>? teacher, DistillationObjective objective,
        TeacherOutputs? precomputed, Tensor? teacherLogits = null) : IStep, IDisposable
    {
        bool needsFeatures;
        TeacherOutputs? cache;
        bool ownsCache;
        bool labelsInRange;
        // The teacher's parameters are frozen while it teaches, and given back as the caller had them.
        readonly List<(TorchSharp.Modules.Parameter Parameter, bool RequiresGrad)> frozen = [];

        public void Dispose()
        {
            if (ownsCache) cache?.Dispose();
            cache = null;
            foreach (var (parameter, requiresGrad) in frozen) parameter.requires_grad = requiresGrad;
            frozen.Clear();
        }

        public void Prepare(Device device, Tensor images, Tensor labels, TrainingOptions options)
        {
            if (teacher is null)
            {
                // Precomputed logits: the cache is an on-device copy (or alias) of them, whatever CacheTeacherOutputs says.
                objective.to(device);
                using var detached = teacherLogits!.detach();
                cache = TeacherOutputs.FromLogits(OnDevice(detached, device));
                ownsCache = true;
                CheckLabels(labels, CheckShapes(images));
                return;
            }
            teacher.to(device);
            teacher.eval();
            foreach (var p in teacher.parameters())
            {
                frozen.Add((p, p.requires_grad));
                p.requires_grad = false;
            }
            objective.to(device);
            needsFeatures = objective.Terms.Any(t => t.UsesFeatures);
            if (needsFeatures && (student is not FeatureModel || teacher is not FeatureModel))
                throw new ArgumentException(
                    $"The objective's terms {string.Join(", ", objective.Terms.Where(t => t.UsesFeatures).Select(t => $"'{t.Name}'"))} need features, " +
                    $"but {(student is FeatureModel ? "the teacher" : "the student")} does not expose them (FeatureModel).");
            CheckLabels(labels, CheckShapes(images));
            var featureIndices = needsFeatures ? objective.Terms.SelectMany(t => t.TeacherFeatures).Distinct().ToList() : [];
            if (precomputed is not null)
            {
                if (precomputed.Count != images.shape[0] || !precomputed.Covers(featureIndices))
                    throw new ArgumentException($"The precomputed teacher outputs hold {precomputed.Count} images and features [{string.Join(", ", precomputed.FeatureIndices)}], " +
                                                $"but this run has {images.shape[0]} images and needs features [{string.Join(", ", featureIndices)}].");
                cache = precomputed;
            }
            else if (options.CacheTeacherOutputs)
            {
                cache = TeacherOutputs.Compute(teacher, images, featureIndices, options.EvaluationBatchSize);
                ownsCache = true;
            }
        }

        /// <summary>Where a term uses the labels, checks every training label once (int64, in [0, classes)), so that the
        /// batches can skip the per-batch range check, which would make each batch wait for the host twice.</summary>
        void CheckLabels(Tensor labels, long classes)
        {
            if (!objective.Terms.Any(t => t.UsesLabels)) return;
            LossChecks.Labels(labels, labels.shape[0], classes);
            labelsInRange = true;
        }

        /// <summary>One forward of both models on four images, in evaluation mode, catches class-count and feature-shape
        /// mismatches before any training, with the layers and shapes named. Returns the number of classes.</summary>
        long CheckShapes(Tensor images)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            bool wasTraining = student.training;
            student.eval();
            try
            {
                // Four images: relation terms need a few (angle-wise RKD needs three), and it stays cheap.
                var probe = images.narrow(0, 0, Math.Min(4, images.shape[0]));
                var sOut = Forward(student, probe);
                var tOut = teacher is null ? cache!.Select(arange(probe.shape[0], dtype: ScalarType.Int64, device: probe.device)) : Forward(teacher, probe);
                if (sOut.Logits.shape[1] != tOut.Logits.shape[1])
                    throw new ArgumentException($"The teacher has {tOut.Logits.shape[1]} classes but the student has {sOut.Logits.shape[1]}; distillation needs the same classes.");
                objective.Compute(new DistillationBatch(sOut.Logits, tOut.Logits, null, sOut.Features, tOut.Features), skipLabelTerms: true);
                return sOut.Logits.shape[1];
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException(teacher is null
                    ? $"Before training: {e.Message}{Environment.NewLine}{Describe("student", student)}; the teacher's logits are [{string.Join(", ", teacherLogits!.shape)}]"
                    : $"Before training: {e.Message}{Environment.NewLine}{Describe("student", student)}{Environment.NewLine}{Describe("teacher", teacher)}", e);
            }
            finally
            {
                if (wasTraining) student.train();
            }
        }

        static string Describe(string who, nn.Module<Tensor, Tensor> model) => model is FeatureModel f
            ? $"{who} {model.GetName()} features: {string.Join(", ", f.Features.Select((info, i) => $"{i}: {info}"))}"
            : $"{who} {model.GetName()} exposes no features";

        ModelOutput Forward(nn.Module<Tensor, Tensor> model, Tensor images) =>
            needsFeatures ? ((FeatureModel)model).forward_features(images) : new ModelOutput([], model.call(images));

        public (Tensor, Tensor, IReadOnlyDictionary<string, Tensor>) Loss(Tensor images, Tensor labels, Tensor index)
        {
            var s = Forward(student, images);
            ModelOutput t;
            if (cache is not null)
            {
                t = cache.Select(index);
            }
            else
            {
                using var _ = no_grad();
                t = Forward(teacher!, images);
            }
            var value = objective.Compute(new DistillationBatch(s.Logits, t.Logits, labels, s.Features, t.Features) { LabelsInRange = labelsInRange });
            return (value.Total, s.Logits, value.Terms);
        }
    }
}

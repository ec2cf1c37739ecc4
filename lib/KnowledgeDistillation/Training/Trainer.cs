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
/// Trains classifiers: plainly (a teacher, or a student from scratch) or by distillation from a frozen teacher. Its loop
/// is the library's one training engine: the language model trains through it too, with its own kinds of step
/// (<see cref="Language.LmTrainer"/>).
/// </summary>
/// <remarks>
/// <para>Everything lives on one device (<see cref="TrainingOptions.Device"/>): the model, the whole data set as one
/// tensor, the teacher and its cached outputs. Each epoch draws one shuffled index permutation from a seeded generator
/// on the CPU; batches are gathered from its copy on the device, with no per-batch copies from the host. Each batch runs
/// in its own dispose scope, so native memory stays flat across epochs.</para>
/// <para>No batch waits for the host: each step's loss, the loss sum, the correct count, the terms' sums and the
/// divergence check accumulate as tensors on the device, and come to the host in one transfer at the end of the epoch,
/// and every <see cref="TrainingOptions.ProgressEveryBatches"/> steps (the running loss and the divergence check);
/// gradient clipping keeps the norm on the device. Training labels are range-checked once per run, not per batch.</para>
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
        ArgumentNullException.ThrowIfNull(train);
        using var step = new PlainStep(model, train);
        return RunOnImages(model, step, [], train, test, options, callbacks ?? new(), $"train {model.GetName()}");
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
        ArgumentNullException.ThrowIfNull(train);
        using var step = new DistillStep(student, teacher, objective, precomputed, train);
        return RunOnImages(student, step, objective.parameters().ToList(), train, test, options, callbacks ?? new(),
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
        using var step = new DistillStep(student, null, objective, null, train, teacherLogits);
        return RunOnImages(student, step, objective.parameters().ToList(), train, test, options, callbacks ?? new(),
            $"distill logits[{string.Join("x", teacherLogits.shape)}]->{student.GetName()} [{string.Join(",", objective.Terms.Select(t => $"{t.Name}:{t.Weight}"))}]");
    }

    /// <summary>The image runs: the engine with a test-set evaluation after the epochs, and the result with it.</summary>
    static TrainingResult RunOnImages(nn.Module<Tensor, Tensor> model, IStep step, IReadOnlyList<TorchSharp.Modules.Parameter> extraParameters,
        LabelledImages train, LabelledImages test, TrainingOptions options, TrainingCallbacks callbacks, string description)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        options.Validate();
        var device = Devices.Resolve(options.Device);
        using var testSet = test.To(device);
        var run = Run(model, step, extraParameters, options, callbacks, description, () => Evaluator.Evaluate(model, testSet, options.EvaluationBatchSize));
        return new TrainingResult(run.History, run.Final!) { Steps = run.Steps };
    }

    /// <summary>What the engine hands back to the kind of run that called it.</summary>
    internal sealed record RunRecord(List<EpochRecord> History, List<StepRecord> Steps, EvaluationResult? Final, TimeSpan Elapsed);

    /// <summary>
    /// The one optimisation loop of the library, whatever <paramref name="step"/> computes: seeding, the device, the
    /// shuffled batch order, the optimiser and its schedule, gradient clipping, the device-resident metrics and
    /// divergence check, progress, checkpoints and resume.
    /// </summary>
    /// <param name="model">The model that learns; moved to the device.</param>
    /// <param name="step">The kind of step: how a batch of examples becomes a loss.</param>
    /// <param name="extraParameters">Trainable parameters besides the model's (a FitNets regressor).</param>
    /// <param name="options">The run's settings, validated.</param>
    /// <param name="callbacks">Progress and cancellation.</param>
    /// <param name="description">Names the run in the checkpoint's fingerprint.</param>
    /// <param name="evaluate">Evaluates the model after an epoch (every epoch or the last, see
    /// <see cref="TrainingOptions.EvaluateEveryEpoch"/>); null for none.</param>
    internal static RunRecord Run(nn.Module model, IStep step, IReadOnlyList<TorchSharp.Modules.Parameter> extraParameters,
        TrainingOptions options, TrainingCallbacks callbacks, string description, Func<EvaluationResult>? evaluate)
    {
        options.Validate();
        var device = Devices.Resolve(options.Device);
        var clock = Stopwatch.StartNew();

        if (options.Precision != TrainingPrecision.Float32 && step is not ImageStep)
            throw new NotSupportedException($"{options.Precision} training is implemented for image classifiers only; train this model with Precision = Float32.");
        manual_seed(options.Seed);
        using var shuffle = new Generator((ulong)options.Seed);
        model.to(device);
        step.Prepare(device, options);

        // BFloat16: the optimiser updates float32 masters of the model's parameters; the model is in bfloat16 during the
        // epochs' steps only, and in float32 (the masters' values) for evaluations, checkpoints and the caller.
        using var mixed = options.Precision == TrainingPrecision.BFloat16 ? new MixedPrecision(model) : null;
        var parameters = (mixed?.Masters ?? model.parameters()).Concat(extraParameters).ToList();
        using var optimizer = options.Optimizer switch
        {
            OptimizerKind.Sgd => (TorchSharp.Modules.OptimizerHelper)optim.SGD(parameters, options.LearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay),
            OptimizerKind.AdamW => optim.AdamW(parameters, options.LearningRate, weight_decay: options.WeightDecay),
            _ => optim.Adam(parameters, options.LearningRate, weight_decay: options.WeightDecay),
        };

        long n = step.Count;
        int batches = (int)((n + options.BatchSize - 1) / options.BatchSize);
        int totalSteps = options.TotalSteps(batches), epochs = (totalSteps + batches - 1) / batches;
        string fingerprint = $"{description} | n={n} bs={options.BatchSize} epochs={options.Epochs} {options.Optimizer} lr={options.LearningRate} {options.Schedule} wd={options.WeightDecay} seed={options.Seed}" +
                             (options.Steps > 0 ? $" steps={options.Steps}" : "") +
                             (options.Schedule == ScheduleKind.WarmupCosine ? $" warmup={options.WarmupSteps} final={options.FinalLearningRateFraction}" : "") +
                             (options.ClipGradNorm > 0 ? $" clip={options.ClipGradNorm}" : "") +
                             (mixed is not null ? $" precision={options.Precision}" : "");
        var history = new List<EpochRecord>();
        var stepRecords = new List<StepRecord>();
        int start = 1;
        if (options.Resume && options.CheckpointPath is { } resumePath && File.Exists(resumePath))
        {
            var state = Checkpoint.Load(resumePath, model, optimizer, shuffle, fingerprint, [.. extraParameters]);
            history.AddRange(state.History);
            stepRecords.AddRange(state.Steps);
            start = state.Epoch + 1;
            mixed?.MastersFromModel();
        }

        EvaluationResult? last = null;
        for (int epoch = start; epoch <= epochs; epoch++)
        {
            // Every epoch has `batches` steps but the last of a run limited by Steps, which may stop part-way.
            int stepsInEpoch = Math.Min(batches, totalSteps - (epoch - 1) * batches);
            long seen = Math.Min(n, (long)stepsInEpoch * options.BatchSize);
            double epochRate = options.LearningRateAtStep((epoch - 1) * batches + 1, totalSteps, batches);
            var epochClock = Stopwatch.StartNew();
            mixed?.ToWorking();
            model.train();
            using var drawn = randperm(n, generator: shuffle);
            using var permutation = Devices.OnDevice(drawn, device);
            using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
            using var correct = zeros(1, dtype: ScalarType.Int64, device: device);
            using var stepLosses = zeros(stepsInEpoch, dtype: ScalarType.Float64, device: device);
            bool countsCorrect = false;
            // The first batch whose loss was not finite (`stepsInEpoch` while there is none) and that loss. They stay on
            // the device, so that no batch waits for the host to look at its loss; they are read at the progress points
            // and at the end of the epoch, before any evaluation or checkpoint.
            using var firstBad = full(1, stepsInEpoch, dtype: ScalarType.Int64, device: device);
            using var badLoss = zeros(1, dtype: ScalarType.Float64, device: device);
            var termSums = new Dictionary<string, Tensor>();
            var rates = new double[stepsInEpoch];
            var seconds = new double[stepsInEpoch];
            void ThrowIfDiverged(double firstBadBatch, double lossValue)
            {
                if (firstBadBatch >= stepsInEpoch) return;
                throw new TrainingDivergedException(
                    $"The training loss became {lossValue} at epoch {epoch}, batch {(long)firstBadBatch + 1} of {stepsInEpoch} (step {(epoch - 1) * batches + (long)firstBadBatch + 1}); training stopped. " +
                    (options.CheckpointPath is not null && epoch > 1 ? $"The last good checkpoint (epoch {epoch - 1}) is {options.CheckpointPath}." : "No checkpoint was written for this epoch.") +
                    " Lower the learning rate or check the inputs.");
            }
            try
            {
                for (int b = 0; b < stepsInEpoch; b++)
                {
                    callbacks.Cancellation.ThrowIfCancellationRequested();
                    int stepNumber = (epoch - 1) * batches + b + 1;
                    double lr = options.LearningRateAtStep(stepNumber, totalSteps, batches);
                    if (b == 0 || options.Schedule == ScheduleKind.WarmupCosine)
                        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                    rates[b] = lr;
                    using var scope = NewDisposeScope();
                    long from = (long)b * options.BatchSize, count = Math.Min(options.BatchSize, n - from);
                    var batch = new StepBatch(permutation.narrow(0, from, count), drawn.narrow(0, from, count), stepNumber, epoch);
                    optimizer.zero_grad();
                    var output = step.Loss(batch);
                    output.Loss.backward();
                    mixed?.GradientsToMasters();
                    if (options.ClipGradNorm > 0) ClipGradNorm(parameters, options.ClipGradNorm);
                    optimizer.step();
                    mixed?.MastersToWorking();
                    using (no_grad())
                    {
                        var value = output.Loss.detach().to_type(ScalarType.Float64);
                        // This batch's index where the loss is not finite, `stepsInEpoch` where it is; the smallest so far wins.
                        firstBad.copy_(firstBad.minimum(value.isfinite().logical_not().to_type(ScalarType.Int64).mul(b - stepsInEpoch).add(stepsInEpoch).reshape(1)));
                        badLoss.copy_(where(firstBad.eq(b), value.reshape(1), badLoss));
                        lossSum.add_(value.mul(count));
                        stepLosses.narrow(0, b, 1).copy_(value.reshape(1));
                        if (output.Correct is { } right)
                        {
                            correct.add_(right);
                            countsCorrect = true;
                        }
                        foreach (var (name, term) in output.Terms)
                        {
                            if (!termSums.TryGetValue(name, out var sum))
                                termSums[name] = sum = zeros(1, dtype: ScalarType.Float64, device: device).DetachFromDisposeScope();
                            sum.add_(term.to_type(ScalarType.Float64).mul(count));
                        }
                    }
                    seconds[b] = clock.Elapsed.TotalSeconds;
                    if (stepNumber % options.ProgressEveryBatches == 0 && b + 1 < stepsInEpoch)
                    {
                        var running = ToHost(firstBad, badLoss, lossSum);
                        ThrowIfDiverged(running[0], running[1]);
                        callbacks.Progress?.Invoke(new TrainingProgress(epoch, epochs, b + 1, stepsInEpoch, running[2] / (from + count), clock.Elapsed, null)
                            { Step = stepNumber, Steps = totalSteps });
                    }
                }
                double epochSeconds = epochClock.Elapsed.TotalSeconds;
                // The epoch's one transfer: divergence, loss and correct sums, each term's sum, and every step's loss.
                var names = termSums.Keys.ToList();
                var totals = ToHost([firstBad, badLoss, lossSum, correct, .. names.Select(name => termSums[name]), stepLosses]);
                ThrowIfDiverged(totals[0], totals[1]);
                mixed?.ToFloat32();
                int firstStep = (epoch - 1) * batches + 1, lossesAt = 4 + names.Count;
                for (int b = 0; b < stepsInEpoch; b++)
                    stepRecords.Add(new StepRecord(firstStep + b, epoch, rates[b], totals[lossesAt + b], seconds[b]));
                last = null;
                if (evaluate is not null && (options.EvaluateEveryEpoch || epoch == epochs))
                    last = evaluate();
                var record = new EpochRecord(epoch, epochRate, totals[2] / seen, countsCorrect ? totals[3] / seen : double.NaN,
                    last?.Loss ?? double.NaN, last?.Accuracy ?? double.NaN, last?.Ece ?? double.NaN, epochSeconds, ProcessMemory.ResidentMegabytes(),
                    names.Select((name, i) => (name, totals[4 + i] / seen)).ToDictionary(t => t.name, t => t.Item2));
                history.Add(record);
                if (options.CheckpointPath is { } path)
                    Checkpoint.Save(path, model, optimizer, shuffle, new Checkpoint.State(epoch, history, fingerprint) { Steps = stepRecords }, [.. extraParameters]);
                callbacks.Progress?.Invoke(new TrainingProgress(epoch, epochs, stepsInEpoch, stepsInEpoch, record.TrainLoss, clock.Elapsed, record)
                    { Step = firstStep + stepsInEpoch - 1, Steps = totalSteps });
            }
            finally
            {
                foreach (var sum in termSums.Values) sum.Dispose();
            }
        }
        // The last epoch's evaluation is the final one (same weights, evaluation mode); evaluate again only when no epoch
        // ran here (a resumed run that had already finished).
        return new RunRecord(history, stepRecords, last ?? evaluate?.Invoke(), clock.Elapsed);
    }

    /// <summary>
    /// Scales the gradients of <paramref name="parameters"/> so that their joint 2-norm is at most
    /// <paramref name="maxNorm"/>, as <c>torch.nn.utils.clip_grad_norm_</c> does and with the same arithmetic (the same
    /// bits on the CPU), but without reading the norm back to the host: TorchSharp's <c>clip_grad_norm_</c> returns it
    /// as a double, which makes every step wait for the device.
    /// </summary>
    internal static void ClipGradNorm(IReadOnlyList<TorchSharp.Modules.Parameter> parameters, double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return;
        var norms = grads.Select(g => g.norm(p: 2)).ToList();
        var total = norms.Count == 1 ? norms[0] : stack(norms).norm(p: 2);
        // max_norm / (total + 1e-6), clamped to at most 1: multiplying by 1 leaves a gradient as it is.
        var coefficient = full_like(total, maxNorm).div_(total.add(1e-6)).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coefficient);
    }

    /// <summary>Tensors, in order and flattened, as doubles, in one transfer to the host (a single synchronisation with
    /// the device). Counts below 2^53 and float64 sums come back exactly.</summary>
    static double[] ToHost(params Tensor[] tensors)
    {
        using var scope = NewDisposeScope();
        return cat(tensors.Select(t => t.to_type(ScalarType.Float64).reshape(-1)).ToList(), 0).cpu().data<double>().ToArray();
    }

    /// <summary>One batch of a step: which examples, and where the run is.</summary>
    /// <param name="Index">The examples' indices [b] (int64) on the run's device.</param>
    /// <param name="HostIndex">The same indices on the CPU, where a step reads them without waiting for the device.</param>
    /// <param name="Step">The 1-based optimiser step of the run.</param>
    /// <param name="Epoch">The 1-based pass over the examples.</param>
    internal sealed record StepBatch(Tensor Index, Tensor HostIndex, int Step, int Epoch);

    /// <summary>What a step computes for one batch.</summary>
    /// <param name="Loss">The objective to minimise, a scalar on the device.</param>
    /// <param name="Correct">Correct predictions in the batch (int64 scalar) for the training accuracy; null where the
    /// step has none.</param>
    /// <param name="Terms">Named parts of the objective, each a scalar, averaged per epoch.</param>
    internal sealed record StepOutput(Tensor Loss, Tensor? Correct, IReadOnlyDictionary<string, Tensor> Terms);

    /// <summary>A kind of training step: how a batch of examples becomes a loss.</summary>
    internal interface IStep
    {
        /// <summary>The number of training examples (an epoch is a pass over them).</summary>
        long Count { get; }

        /// <summary>Moves what the step needs (its data, a teacher, cached teacher outputs) to the device and checks shapes
        /// (and, where a term uses them, the labels) before the first batch.</summary>
        void Prepare(Device device, TrainingOptions options);

        /// <summary>The loss of one batch, in the batch's dispose scope.</summary>
        StepOutput Loss(StepBatch batch);
    }

    /// <summary>The images and labels of a classification run, on the device once the step is prepared.</summary>
    abstract class ImageStep(LabelledImages train) : IDisposable
    {
        protected Tensor X { get; private set; } = null!;
        protected Tensor Y { get; private set; } = null!;

        /// <summary>The type the model that learns computes in (<see cref="TrainingOptions.Precision"/>).</summary>
        ScalarType compute = ScalarType.Float32;

        public long Count => train.Count;

        protected void MoveData(Device device, TrainingOptions options)
        {
            X = Devices.OnDevice(train.Images, device);
            Y = Devices.OnDevice(train.Labels, device);
            compute = options.Precision == TrainingPrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        }

        /// <summary>Images for the model that learns, in the type it computes in.</summary>
        protected Tensor ForModel(Tensor images) => images.dtype == compute ? images : images.to_type(compute);

        /// <summary>The model's output for the losses, which are computed in float32.</summary>
        protected static ModelOutput ForLosses(ModelOutput output) =>
            output.Logits.dtype == ScalarType.Float32 && output.Features.All(f => f.dtype == ScalarType.Float32)
                ? output
                : new ModelOutput([.. output.Features.Select(ToFloat32)], ToFloat32(output.Logits));

        protected static Tensor ToFloat32(Tensor t) => t.dtype == ScalarType.Float32 ? t : t.to_type(ScalarType.Float32);

        public virtual void Dispose()
        {
            X?.Dispose();
            Y?.Dispose();
        }
    }

    /// <summary>Cross entropy with the hard labels.</summary>
    sealed class PlainStep(nn.Module<Tensor, Tensor> model, LabelledImages train) : ImageStep(train), IStep
    {
        public void Prepare(Device device, TrainingOptions options) => MoveData(device, options);

        public StepOutput Loss(StepBatch batch)
        {
            var labels = Y.index_select(0, batch.Index);
            var logits = ToFloat32(model.call(ForModel(X.index_select(0, batch.Index))));
            return new(F.cross_entropy(logits, labels), logits.argmax(1).eq(labels).sum(), new Dictionary<string, Tensor>());
        }
    }

    /// <summary>A distillation step from a teacher model (with its outputs cached, shared, or computed per batch), or from
    /// precomputed teacher logits (then teacher is null).</summary>
    sealed class DistillStep(nn.Module<Tensor, Tensor> student, nn.Module<Tensor, Tensor>? teacher, DistillationObjective objective,
        TeacherOutputs? precomputed, LabelledImages train, Tensor? teacherLogits = null) : ImageStep(train), IStep
    {
        bool needsFeatures;
        TeacherOutputs? cache;
        bool ownsCache;
        bool labelsInRange;
        // The teacher's parameters are frozen while it teaches, and given back as the caller had them.
        readonly List<(TorchSharp.Modules.Parameter Parameter, bool RequiresGrad)> frozen = [];

        public override void Dispose()
        {
            if (ownsCache) cache?.Dispose();
            cache = null;
            foreach (var (parameter, requiresGrad) in frozen) parameter.requires_grad = requiresGrad;
            frozen.Clear();
            base.Dispose();
        }

        public void Prepare(Device device, TrainingOptions options)
        {
            MoveData(device, options);
            Tensor images = X, labels = Y;
            if (teacher is null)
            {
                // Precomputed logits: the cache is an on-device copy (or alias) of them, whatever CacheTeacherOutputs says.
                objective.to(device);
                using var detached = teacherLogits!.detach();
                cache = TeacherOutputs.FromLogits(Devices.OnDevice(detached, device));
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

        public StepOutput Loss(StepBatch batch)
        {
            var (index, labels) = (batch.Index, Y.index_select(0, batch.Index));
            var images = X.index_select(0, index);
            var s = ForLosses(Forward(student, ForModel(images)));
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
            return new(value.Total, s.Logits.argmax(1).eq(labels).sum(), value.Terms);
        }
    }
}

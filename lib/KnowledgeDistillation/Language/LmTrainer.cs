using System.Diagnostics;
using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Language;

/// <summary>
/// Trains <see cref="TinyGpt"/> models: supervised fine-tuning (next-token cross entropy on the completion tokens) and
/// the student regimes of <see cref="LmDistillationMode"/> (the four of the lab, and on-policy KD).
/// </summary>
/// <remarks>
/// AdamW with linear warm-up and cosine decay, gradient clipping, batches drawn from a seeded permutation of the
/// training sequences (a new one each epoch), a dispose scope per step, and a progress callback. On the CPU the same
/// seed and the same initial weights give the same run. Teachers run in evaluation mode under <c>no_grad</c>.
/// </remarks>
public static class LmTrainer
{
    /// <summary>Supervised fine-tuning: mean cross entropy over the completion tokens (<see cref="LmSequences.LossMask"/>).</summary>
    public static LmTrainingResult Train(TinyGpt model, CharVocabulary vocabulary, IReadOnlyList<LmExample> examples, LmTrainingOptions options,
        Action<LmProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        CheckVocabulary(model, vocabulary);
        using var sequences = LmSequences.Create(vocabulary, examples, model.Config.ContextLength);
        return Run(model, sequences, options, (x, y, m, _) => MaskedCrossEntropy(model.call(x), y, m), progress, cancellation);
    }

    /// <summary>
    /// Token-level KD: <see cref="TokenKDLoss"/> between the student's and the frozen teacher's next-token logits on the
    /// completion tokens of <paramref name="examples"/>, <c>α·T²·KL(p_T ‖ q_T) + (1 − α)·CE</c>. The teacher's logits
    /// are computed once for all sequences before training.
    /// </summary>
    public static LmTrainingResult DistillTokens(TinyGpt student, TinyGpt teacher, CharVocabulary vocabulary, IReadOnlyList<LmExample> examples,
        LmTrainingOptions options, TokenKDLoss loss, Action<LmProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(loss);
        if (ReferenceEquals(student, teacher)) throw new ArgumentException("The student and the teacher are the same model.", nameof(teacher));
        CheckVocabulary(student, vocabulary);
        CheckVocabulary(teacher, vocabulary);
        using var sequences = LmSequences.Create(vocabulary, examples, Math.Min(student.Config.ContextLength, teacher.Config.ContextLength));
        using var teacherLogits = TeacherLogits(teacher, sequences);
        return Run(student, sequences, options, (x, y, m, index) =>
        {
            var t = teacherLogits.index_select(0, index).narrow(1, 0, x.shape[1]);
            return loss.Compute(student.call(x), t, y, m);
        }, progress, cancellation);
    }

    /// <summary>
    /// The teacher's logits [N, L, V] for every training sequence, computed once in evaluation mode under
    /// <c>no_grad</c>: the sequences never change, so each epoch reuses them instead of running the teacher again
    /// (exact, since the teacher has no dropout in evaluation mode). 8,000 sequences of 44 tokens take 28 MB.
    /// </summary>
    static Tensor TeacherLogits(TinyGpt teacher, LmSequences sequences, int batchSize = 256)
    {
        bool wasTraining = teacher.training;
        teacher.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var parts = new List<Tensor>();
            for (int from = 0; from < sequences.Count; from += batchSize)
            {
                var rows = sequences.Inputs.narrow(0, from, Math.Min(batchSize, sequences.Count - from));
                parts.Add(teacher.call(rows));
            }
            return cat(parts, 0).MoveToOuterDisposeScope();
        }
        finally
        {
            teacher.train(wasTraining);
        }
    }

    /// <summary>
    /// On-policy distillation: each step the student samples a completion for each prompt of the batch (in evaluation
    /// mode, under <c>no_grad</c>, with <paramref name="sampling"/>'s temperature and a seed that moves with the step),
    /// then <paramref name="divergence"/>(student logits, teacher logits, mask) is minimised over the completion tokens
    /// it wrote. The student learns from its own mistakes instead of from sequences it would not write (GKD: R. Agarwal
    /// et al., "On-Policy Distillation of Language Models: Learning from Self-Generated Mistakes", ICLR 2024; MiniLLM,
    /// Gu et al. 2024, uses the reverse KL on student samples).
    /// </summary>
    /// <param name="student">The model that learns and samples.</param>
    /// <param name="teacher">The frozen teacher.</param>
    /// <param name="vocabulary">The vocabulary of both.</param>
    /// <param name="prompts">The prompts; an epoch is a pass over them.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="sampling">How the student samples (temperature, seed, maximum length).</param>
    /// <param name="divergence">A token-level divergence with a mask, such as <c>new GeneralizedJSDLoss(0.5).Compute</c> or
    /// <c>new ReverseKLLoss().Compute</c>.</param>
    /// <param name="progress">Progress reports.</param>
    /// <param name="cancellation">Stops the run.</param>
    public static LmTrainingResult DistillOnPolicy(TinyGpt student, TinyGpt teacher, CharVocabulary vocabulary, IReadOnlyList<string> prompts,
        LmTrainingOptions options, GenerationOptions sampling, Func<Tensor, Tensor, Tensor?, Tensor> divergence,
        Action<LmProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentNullException.ThrowIfNull(divergence);
        if (ReferenceEquals(student, teacher)) throw new ArgumentException("The student and the teacher are the same model.", nameof(teacher));
        CheckVocabulary(student, vocabulary);
        CheckVocabulary(teacher, vocabulary);
        // The prompts as sequences only to drive the seeded batch order; the training tokens are sampled every step.
        using var promptRows = LmSequences.Create(vocabulary, [.. prompts.Select(p => new LmExample(p, ""))], student.Config.ContextLength);
        int context = Math.Min(student.Config.ContextLength, teacher.Config.ContextLength);
        bool teacherWasTraining = teacher.training;
        teacher.eval();
        long step = 0;
        try
        {
            return Run(student, promptRows, options, (_, _, _, index) =>
            {
                var batchPrompts = index.data<long>().Select(i => prompts[(int)i]).ToList();
                var written = TextGenerator.Generate(student, vocabulary, batchPrompts, sampling with { Seed = sampling.Seed + step++ });
                using var sequences = LmSequences.Create(vocabulary, [.. batchPrompts.Select((p, i) => new LmExample(p, written.Completions[i]))], context);
                Tensor teacherLogits;
                using (no_grad()) teacherLogits = teacher.call(sequences.Inputs);
                return divergence(student.call(sequences.Inputs), teacherLogits, sequences.LossMask);
            }, progress, cancellation);
        }
        finally
        {
            teacher.train(teacherWasTraining);
        }
    }

    /// <summary>
    /// Rejection sampling: the teacher writes <paramref name="samplesPerPrompt"/> chains per problem with
    /// <paramref name="sampling"/>; the chains whose final answer is correct become examples.
    /// </summary>
    public static RejectionSample SampleCorrectChains(TinyGpt teacher, CharVocabulary vocabulary, IReadOnlyList<AdditionProblem> problems,
        GenerationOptions sampling, int samplesPerPrompt = 1)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (samplesPerPrompt < 1) throw new ArgumentOutOfRangeException(nameof(samplesPerPrompt), samplesPerPrompt, "samplesPerPrompt must be at least 1.");
        var repeated = problems.SelectMany(p => Enumerable.Repeat(p, samplesPerPrompt)).ToList();
        var generation = TextGenerator.Generate(teacher, vocabulary, [.. repeated.Select(p => p.Prompt)], sampling);
        var accepted = new List<LmExample>();
        for (int i = 0; i < repeated.Count; i++)
            if (generation.Finished[i] && repeated[i].IsCorrect(generation.Completions[i]))
                accepted.Add(new LmExample(repeated[i].Prompt, generation.Completions[i]));
        return new RejectionSample(accepted, repeated.Count, generation);
    }

    /// <summary>
    /// Trains <paramref name="student"/> on <paramref name="problems"/> in one of the regimes; the teacher is needed for
    /// <see cref="LmDistillationMode.SequenceKD"/>, <see cref="LmDistillationMode.TokenKD"/> and
    /// <see cref="LmDistillationMode.OnPolicyKD"/> only.
    /// </summary>
    /// <exception cref="ArgumentException">A teacher is needed but missing, or rejection sampling kept no chain.</exception>
    public static LmDistillationResult Distill(LmDistillationMode mode, TinyGpt student, TinyGpt? teacher, IReadOnlyList<AdditionProblem> problems,
        LmTrainingOptions options, LmDistillationOptions? distillation = null, CharVocabulary? vocabulary = null,
        Action<LmProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(problems);
        distillation ??= new();
        distillation.Validate();
        vocabulary ??= CharVocabulary.Default;
        if (mode is LmDistillationMode.SequenceKD or LmDistillationMode.TokenKD or LmDistillationMode.OnPolicyKD && teacher is null)
            throw new ArgumentException($"{mode} needs a teacher.", nameof(teacher));
        switch (mode)
        {
            case LmDistillationMode.AnswersOnly:
                return new(mode, Train(student, vocabulary, AdditionTask.Examples(problems, ReasoningFormat.AnswerOnly), options, progress, cancellation), null);
            case LmDistillationMode.GroundTruthChains:
                return new(mode, Train(student, vocabulary, AdditionTask.Examples(problems, ReasoningFormat.ChainOfThought), options, progress, cancellation), null);
            case LmDistillationMode.SequenceKD:
            {
                var samples = SampleCorrectChains(teacher!, vocabulary, problems,
                    new GenerationOptions(Temperature: distillation.SampleTemperature, Seed: distillation.SampleSeed), distillation.SamplesPerPrompt);
                if (samples.Accepted.Count == 0)
                    throw new ArgumentException($"The teacher answered none of the {samples.Sampled} sampled chains correctly; train the teacher first.", nameof(teacher));
                return new(mode, Train(student, vocabulary, samples.Accepted, options, progress, cancellation), samples);
            }
            case LmDistillationMode.TokenKD:
            {
                using var loss = new TokenKDLoss(distillation.T, distillation.Alpha);
                return new(mode, DistillTokens(student, teacher!, vocabulary, AdditionTask.Examples(problems, ReasoningFormat.ChainOfThought),
                    options, loss, progress, cancellation), null);
            }
            case LmDistillationMode.OnPolicyKD:
            {
                using var loss = new GeneralizedJSDLoss(distillation.Beta);
                var sampling = new GenerationOptions(Temperature: distillation.SampleTemperature, Seed: distillation.SampleSeed);
                return new(mode, DistillOnPolicy(student, teacher!, vocabulary, [.. problems.Select(p => p.Prompt)], options, sampling, loss.Compute,
                    progress, cancellation), null);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown mode.");
        }
    }

    /// <summary>The mean cross entropy over the positions where <paramref name="mask"/> is 1: logits [B, T, V], targets and mask [B, T].</summary>
    public static Tensor MaskedCrossEntropy(Tensor logits, Tensor targets, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(mask);
        if (logits.dim() != 3 || !targets.shape.SequenceEqual(logits.shape[..2]) || !mask.shape.SequenceEqual(logits.shape[..2]))
            throw new ArgumentException($"Expected logits [B, T, V] with targets and mask [B, T]; got [{string.Join(", ", logits.shape)}], [{string.Join(", ", targets.shape)}] and [{string.Join(", ", mask.shape)}].");
        using var scope = NewDisposeScope();
        var perToken = F.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1), reduction: nn.Reduction.None);
        var m = mask.reshape(-1).to_type(perToken.dtype);
        return TokenDistributions.MaskedMean(perToken, m).MoveToOuterDisposeScope();
    }

    static LmTrainingResult Run(TinyGpt model, LmSequences data, LmTrainingOptions options, Func<Tensor, Tensor, Tensor, Tensor, Tensor> lossOf,
        Action<LmProgress>? progress, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        manual_seed(options.Seed);
        using var shuffle = new Generator((ulong)options.Seed);
        var parameters = model.parameters().ToList();
        using var optimizer = optim.AdamW(parameters, options.LearningRate, weight_decay: options.WeightDecay);
        var history = new List<LmStepRecord>();
        var epochs = new List<LmEpochRecord>();
        int n = data.Count, batchesPerEpoch = (n + options.BatchSize - 1) / options.BatchSize;
        Tensor? permutation = null;
        double sinceReport = 0;
        int reported = 0;
        bool wasTraining = model.training;
        model.train();
        try
        {
            for (int step = 1; step <= options.Steps; step++)
            {
                cancellation.ThrowIfCancellationRequested();
                int epoch = (step - 1) / batchesPerEpoch + 1, batch = (step - 1) % batchesPerEpoch;
                if (batch == 0)
                {
                    permutation?.Dispose();
                    permutation = randperm(n, generator: shuffle);
                }
                double lr = options.LearningRateAt(step);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
                double value;
                using (var scope = NewDisposeScope())
                {
                    int from = batch * options.BatchSize, count = Math.Min(options.BatchSize, n - from);
                    var index = permutation!.narrow(0, from, count);
                    var (x, y, m) = data.Batch(index);
                    optimizer.zero_grad();
                    var loss = lossOf(x, y, m, index);
                    value = loss.item<float>();
                    if (!double.IsFinite(value))
                        throw new InvalidOperationException($"The loss became {value} at step {step}; lower the learning rate.");
                    loss.backward();
                    if (options.ClipGradNorm > 0) nn.utils.clip_grad_norm_(parameters, options.ClipGradNorm);
                    optimizer.step();
                }
                history.Add(new LmStepRecord(step, epoch, lr, value, clock.Elapsed.TotalSeconds));
                sinceReport += value;
                if (batch == batchesPerEpoch - 1 || step == options.Steps)
                {
                    var inEpoch = history.Where(h => h.Epoch == epoch).ToList();
                    epochs.Add(new LmEpochRecord(epoch, inEpoch.Count, inEpoch.Average(h => h.Loss)));
                }
                if (progress is not null && (step % options.ProgressEverySteps == 0 || step == options.Steps))
                {
                    progress(new LmProgress(step, options.Steps, epoch, sinceReport / (step - reported), clock.Elapsed));
                    sinceReport = 0;
                    reported = step;
                }
            }
        }
        finally
        {
            permutation?.Dispose();
            model.train(wasTraining);
        }
        return new LmTrainingResult(history, epochs, clock.Elapsed);
    }

    static void CheckVocabulary(TinyGpt model, CharVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Size != model.Config.VocabSize)
            throw new ArgumentException($"The vocabulary has {vocabulary.Size} tokens but {model.GetName()} has {model.Config.VocabSize}.", nameof(vocabulary));
    }
}

using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Language;

/// <summary>
/// Trains <see cref="TinyGpt"/> models through the library's one training engine (<see cref="Trainer"/>, with a step kind
/// per regime): supervised fine-tuning (next-token cross entropy on the completion tokens), token-level KD, on-policy
/// KD, and the student regimes of <see cref="LmDistillationMode"/>.
/// </summary>
/// <remarks>
/// <para>The options are the engine's <see cref="TrainingOptions"/>; <see cref="DefaultOptions"/> holds the language
/// model's settings (AdamW, warm-up then cosine per step, gradient clipping, a step count instead of epochs). The run
/// gets what every run of the engine gets: the device of <see cref="TrainingOptions.Device"/> (the model, the teacher and
/// the token sequences go there), metrics kept on the device and read once per epoch and at the progress points, the
/// stop on a non-finite loss (<see cref="TrainingDivergedException"/>), and checkpoints with resume at the end of each
/// pass over the sequences.</para>
/// <para>On the CPU the same seed and the same initial weights give the same run. Teachers run in evaluation mode under
/// <c>no_grad</c>, and get their mode back; so does the model that learns.</para>
/// </remarks>
public static class LmTrainer
{
    /// <summary>
    /// The language model's training settings: 1,000 steps of 64 sequences, AdamW at 3e-3 with weight decay 0.01, 50
    /// warm-up steps then a cosine decay to a tenth of the rate (<see cref="ScheduleKind.WarmupCosine"/>), gradients
    /// clipped to norm 1, progress every 25 steps, on <c>auto</c> (CUDA where torch sees it). Change what you need
    /// with <c>with</c>: <c>LmTrainer.DefaultOptions with { Steps = 300 }</c>.
    /// </summary>
    public static TrainingOptions DefaultOptions { get; } = new()
    {
        Steps = 1000,
        BatchSize = 64,
        Optimizer = OptimizerKind.AdamW,
        LearningRate = 3e-3,
        WeightDecay = 0.01,
        Schedule = ScheduleKind.WarmupCosine,
        WarmupSteps = 50,
        FinalLearningRateFraction = 0.1,
        ClipGradNorm = 1.0,
        ProgressEveryBatches = 25,
    };

    /// <summary>Supervised fine-tuning: mean cross entropy over the completion tokens (<see cref="LmSequences.LossMask"/>).</summary>
    public static LmTrainingResult Train(TinyGpt model, CharVocabulary vocabulary, IReadOnlyList<LmExample> examples, TrainingOptions options,
        TrainingCallbacks? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        CheckVocabulary(model, vocabulary);
        using var sequences = LmSequences.Create(vocabulary, examples, model.Config.ContextLength);
        using var step = new LmSteps.SequenceStep(model, sequences);
        return Run(model, step, options, callbacks, $"lm-train {model.GetName()}");
    }

    /// <summary>
    /// Token-level KD: <see cref="TokenKDLoss"/> between the student's and the frozen teacher's next-token logits on the
    /// completion tokens of <paramref name="examples"/>, <c>α·T²·KL(p_T ‖ q_T) + (1 − α)·CE</c>. The teacher's logits
    /// are computed once for all sequences before training (unless <see cref="TrainingOptions.CacheTeacherOutputs"/> is
    /// false).
    /// </summary>
    public static LmTrainingResult DistillTokens(TinyGpt student, TinyGpt teacher, CharVocabulary vocabulary, IReadOnlyList<LmExample> examples,
        TrainingOptions options, TokenKDLoss loss, TrainingCallbacks? callbacks = null) =>
        DistillTokens(student, teacher, vocabulary, examples, options, loss, callbacks, shared: null);

    static LmTrainingResult DistillTokens(TinyGpt student, TinyGpt teacher, CharVocabulary vocabulary, IReadOnlyList<LmExample> examples,
        TrainingOptions options, TokenKDLoss loss, TrainingCallbacks? callbacks, LmTeacherOutputs? shared)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(loss);
        if (ReferenceEquals(student, teacher)) throw new ArgumentException("The student and the teacher are the same model.", nameof(teacher));
        CheckVocabulary(student, vocabulary);
        CheckVocabulary(teacher, vocabulary);
        using var sequences = LmSequences.Create(vocabulary, examples, Math.Min(student.Config.ContextLength, teacher.Config.ContextLength));
        using var step = new LmSteps.TokenKDStep(student, teacher, sequences, loss, shared);
        return Run(student, step, options, callbacks, $"lm-token-kd {teacher.GetName()}->{student.GetName()} T={loss.T} alpha={loss.Alpha}");
    }

    /// <summary>
    /// On-policy distillation: each step the student samples a completion for each prompt of the batch (in evaluation
    /// mode, under <c>no_grad</c>, with <paramref name="sampling"/>'s temperature and a seed that moves with the step),
    /// then <paramref name="divergence"/>(student logits, teacher logits, mask) is minimised over the completion tokens
    /// it wrote. The student learns from its own mistakes instead of from sequences it would not write (GKD: R. Agarwal
    /// et al., "On-Policy Distillation of Language Models: Learning from Self-Generated Mistakes", ICLR 2024; MiniLLM,
    /// Gu et al. 2024, uses the reverse KL on student samples).
    /// </summary>
    /// <remarks>The sampling reads each new token on the host (to stop at the end token), the one per-step wait for the
    /// device in any training step; the rest of the step and the loop do not wait.</remarks>
    /// <param name="student">The model that learns and samples.</param>
    /// <param name="teacher">The frozen teacher.</param>
    /// <param name="vocabulary">The vocabulary of both.</param>
    /// <param name="prompts">The prompts; an epoch is a pass over them.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="sampling">How the student samples (temperature, seed, maximum length).</param>
    /// <param name="divergence">A token-level divergence with a mask, such as <c>new GeneralizedJSDLoss(0.5).Compute</c> or
    /// <c>new ReverseKLLoss().Compute</c>.</param>
    /// <param name="callbacks">Progress and cancellation.</param>
    public static LmTrainingResult DistillOnPolicy(TinyGpt student, TinyGpt teacher, CharVocabulary vocabulary, IReadOnlyList<string> prompts,
        TrainingOptions options, GenerationOptions sampling, Func<Tensor, Tensor, Tensor?, Tensor> divergence, TrainingCallbacks? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentNullException.ThrowIfNull(divergence);
        if (ReferenceEquals(student, teacher)) throw new ArgumentException("The student and the teacher are the same model.", nameof(teacher));
        CheckVocabulary(student, vocabulary);
        CheckVocabulary(teacher, vocabulary);
        // Checks the prompts (known characters, room in the context) before training.
        using (LmSequences.Create(vocabulary, [.. prompts.Select(p => new LmExample(p, ""))], student.Config.ContextLength)) { }
        using var step = new LmSteps.OnPolicyStep(student, teacher, vocabulary, prompts, sampling, divergence);
        return Run(student, step, options, callbacks,
            $"lm-on-policy {teacher.GetName()}->{student.GetName()} T={sampling.Temperature} seed={sampling.Seed} max={sampling.MaxNewTokens}");
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
    /// <param name="mode">The regime.</param>
    /// <param name="student">The model that learns.</param>
    /// <param name="teacher">The frozen teacher, for the regimes that need one.</param>
    /// <param name="problems">The training problems.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="distillation">T, alpha and the sampling settings (the defaults when null).</param>
    /// <param name="vocabulary">The vocabulary (<see cref="CharVocabulary.Default"/> when null).</param>
    /// <param name="callbacks">Progress and cancellation.</param>
    /// <param name="shared">The teacher's chains and logits for these problems, shared by several students
    /// (<see cref="LmTeacherOutputs"/>): computed by the first run that needs them, reused by the others. The students
    /// are the same, bit for bit, as without it.</param>
    /// <exception cref="ArgumentException">A teacher is needed but missing, rejection sampling kept no chain, or
    /// <paramref name="shared"/> belongs to another teacher or other problems.</exception>
    public static LmDistillationResult Distill(LmDistillationMode mode, TinyGpt student, TinyGpt? teacher, IReadOnlyList<AdditionProblem> problems,
        TrainingOptions options, LmDistillationOptions? distillation = null, CharVocabulary? vocabulary = null, TrainingCallbacks? callbacks = null,
        LmTeacherOutputs? shared = null)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(problems);
        distillation ??= new();
        distillation.Validate();
        vocabulary ??= CharVocabulary.Default;
        if (mode is LmDistillationMode.SequenceKD or LmDistillationMode.TokenKD or LmDistillationMode.OnPolicyKD && teacher is null)
            throw new ArgumentException($"{mode} needs a teacher.", nameof(teacher));
        if (shared is not null && mode is LmDistillationMode.SequenceKD or LmDistillationMode.TokenKD) shared.CheckFor(teacher, problems, vocabulary);
        switch (mode)
        {
            case LmDistillationMode.AnswersOnly:
                return new(mode, Train(student, vocabulary, AdditionTask.Examples(problems, ReasoningFormat.AnswerOnly), options, callbacks), null);
            case LmDistillationMode.GroundTruthChains:
                return new(mode, Train(student, vocabulary, AdditionTask.Examples(problems, ReasoningFormat.ChainOfThought), options, callbacks), null);
            case LmDistillationMode.SequenceKD:
            {
                var samples = shared?.Chains(distillation) ?? SampleCorrectChains(teacher!, vocabulary, problems, distillation.Sampling, distillation.SamplesPerPrompt);
                if (samples.Accepted.Count == 0)
                    throw new ArgumentException($"The teacher answered none of the {samples.Sampled} sampled chains correctly; train the teacher first.", nameof(teacher));
                return new(mode, Train(student, vocabulary, samples.Accepted, options, callbacks), samples);
            }
            case LmDistillationMode.TokenKD:
            {
                using var loss = new TokenKDLoss(distillation.T, distillation.Alpha);
                return new(mode, DistillTokens(student, teacher!, vocabulary, AdditionTask.Examples(problems, ReasoningFormat.ChainOfThought),
                    options, loss, callbacks, shared), null);
            }
            case LmDistillationMode.OnPolicyKD:
            {
                using var loss = new GeneralizedJSDLoss(distillation.Beta);
                return new(mode, DistillOnPolicy(student, teacher!, vocabulary, [.. problems.Select(p => p.Prompt)], options, distillation.Sampling, loss.Compute,
                    callbacks), null);
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

    /// <summary>The engine's run of <paramref name="step"/>, as the language model's result; the model gets its mode back.</summary>
    static LmTrainingResult Run(TinyGpt model, Trainer.IStep step, TrainingOptions options, TrainingCallbacks? callbacks, string description)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool wasTraining = model.training;
        try
        {
            var run = Trainer.Run(model, step, [], options, callbacks ?? new(), description, evaluate: null);
            var history = run.Steps;
            var epochs = history.Select(h => h.Epoch).Distinct().Select(epoch =>
            {
                var inEpoch = history.Where(h => h.Epoch == epoch).ToList();
                return new LmEpochRecord(epoch, inEpoch.Count, inEpoch.Average(h => h.Loss));
            }).ToList();
            return new LmTrainingResult(history, epochs, run.Elapsed);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    static void CheckVocabulary(TinyGpt model, CharVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Size != model.Config.VocabSize)
            throw new ArgumentException($"The vocabulary has {vocabulary.Size} tokens but {model.GetName()} has {model.Config.VocabSize}.", nameof(vocabulary));
    }
}

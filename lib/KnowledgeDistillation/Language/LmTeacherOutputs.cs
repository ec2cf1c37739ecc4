using System.Diagnostics;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Language;

/// <summary>
/// What a frozen teacher produces for one training set, computed once and shared by every student that learns from it:
/// the chains it samples for sequence-level KD (rejection sampling with a fixed seed) and its next-token logits on the
/// chain-of-thought sequences for token-level KD. Pass it to <see cref="LmTrainer.Distill"/> for each student of an
/// experiment with several seeds; each seed then trains on the same chains and logits it would have computed itself,
/// bit for bit, without waiting for the teacher again.
/// </summary>
/// <remarks>
/// Safe because nothing of it depends on the student: the teacher does not change (it runs in evaluation mode under
/// <c>no_grad</c>), the problems are fixed, and the sampling seed is part of the key. The chains are kept per sampling
/// setting (temperature, seed, samples per prompt), the logits per device and evaluation batch size. Dispose it to free
/// the logits.
/// </remarks>
public sealed class LmTeacherOutputs : IDisposable
{
    readonly Dictionary<(double Temperature, long Seed, int PerPrompt), RejectionSample> chains = [];
    readonly Dictionary<(string Device, int BatchSize), Tensor> logits = [];
    readonly Stopwatch clock = new();
    bool disposed;

    /// <summary>Outputs of <paramref name="teacher"/> for <paramref name="problems"/>, computed when first asked for.</summary>
    /// <param name="teacher">The frozen teacher.</param>
    /// <param name="problems">The training problems every student will learn.</param>
    /// <param name="vocabulary">The vocabulary (<see cref="CharVocabulary.Default"/> when null).</param>
    public LmTeacherOutputs(TinyGpt teacher, IReadOnlyList<AdditionProblem> problems, CharVocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(problems);
        Teacher = teacher;
        Problems = [.. problems];
        Vocabulary = vocabulary ?? CharVocabulary.Default;
    }

    /// <summary>The teacher.</summary>
    public TinyGpt Teacher { get; }

    /// <summary>The training problems.</summary>
    public IReadOnlyList<AdditionProblem> Problems { get; }

    /// <summary>The vocabulary.</summary>
    public CharVocabulary Vocabulary { get; }

    /// <summary>How many times the teacher was asked for chains or logits (one per setting, however many students share them).</summary>
    public int Computations { get; private set; }

    /// <summary>Wall time spent computing chains and logits so far.</summary>
    public TimeSpan Elapsed => clock.Elapsed;

    /// <summary>The chains that rejection sampling keeps with <paramref name="distillation"/>'s sampling settings
    /// (<see cref="LmTrainer.SampleCorrectChains"/>), sampled the first time and then returned as they are.</summary>
    public RejectionSample Chains(LmDistillationOptions distillation)
    {
        ArgumentNullException.ThrowIfNull(distillation);
        ObjectDisposedException.ThrowIf(disposed, this);
        var key = (distillation.SampleTemperature, distillation.SampleSeed, distillation.SamplesPerPrompt);
        if (!chains.TryGetValue(key, out var sample))
            chains[key] = sample = Timed(() => LmTrainer.SampleCorrectChains(Teacher, Vocabulary, Problems, distillation.Sampling, distillation.SamplesPerPrompt));
        return sample;
    }

    /// <summary>Asks the teacher once: counted in <see cref="Computations"/> and timed in <see cref="Elapsed"/>.</summary>
    T Timed<T>(Func<T> compute)
    {
        clock.Start();
        try
        {
            var result = compute();
            Computations++;
            return result;
        }
        finally
        {
            clock.Stop();
        }
    }

    /// <summary>Checks that these outputs belong to <paramref name="teacher"/> and <paramref name="problems"/>.</summary>
    /// <exception cref="ArgumentException">Another teacher, other problems or another vocabulary.</exception>
    internal void CheckFor(TinyGpt? teacher, IReadOnlyList<AdditionProblem> problems, CharVocabulary vocabulary)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!ReferenceEquals(teacher, Teacher))
            throw new ArgumentException("The shared teacher outputs were computed for another teacher model.", nameof(teacher));
        if (!ReferenceEquals(problems, Problems) && !problems.SequenceEqual(Problems))
            throw new ArgumentException($"The shared teacher outputs were computed for other training problems ({Problems.Count:N0} problems, not these {problems.Count:N0}).", nameof(problems));
        if (vocabulary.Size != Vocabulary.Size)
            throw new ArgumentException("The shared teacher outputs were computed with another vocabulary.", nameof(vocabulary));
    }

    /// <summary>The teacher's logits [N, L, V] for <paramref name="sequences"/> (the chain-of-thought sequences of
    /// <see cref="Problems"/>, on their device), computed the first time for this device and batch size. Owned by this
    /// object: the caller must not dispose them.</summary>
    internal Tensor Logits(LmSequences sequences, int batchSize)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (sequences.Count != Problems.Count)
            throw new ArgumentException($"Expected the {Problems.Count:N0} sequences of the shared problems, got {sequences.Count:N0}.", nameof(sequences));
        var key = (sequences.Device.ToString(), batchSize);
        if (!logits.TryGetValue(key, out var value))
            logits[key] = value = Timed(() => LmSteps.TeacherLogits(Teacher, sequences, batchSize));
        return value;
    }

    /// <summary>Frees the logits.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in logits.Values) t.Dispose();
        logits.Clear();
        chains.Clear();
    }
}

using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Language;

/// <summary>How <see cref="TextGenerator"/> decodes.</summary>
/// <param name="MaxNewTokens">The most tokens written after a prompt (the end token included); the context length also caps it.</param>
/// <param name="Temperature">0 for greedy decoding (the most likely token); above 0, sampling from <c>softmax(z / T)</c>.</param>
/// <param name="Seed">The seed of the sampling generator; the same seed and prompts give the same samples.</param>
/// <param name="BatchSize">Prompts decoded together.</param>
/// <param name="UseCache">Keep each position's keys and values (<see cref="KeyValueCache"/>), so that a step costs one
/// position instead of the whole sequence; the same tokens either way, up to float rounding.</param>
public sealed record GenerationOptions(int MaxNewTokens = 64, double Temperature = 0.0, long Seed = 0, int BatchSize = 256, bool UseCache = true)
{
    /// <summary>Greedy decoding.</summary>
    public static GenerationOptions Greedy { get; } = new();

    /// <summary>Throws on a bad value.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "MaxNewTokens must be at least 1.");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be 0 (greedy) or a positive finite number.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be at least 1.");
    }
}

/// <summary>What a generation call wrote.</summary>
/// <param name="Completions">The text after each prompt, in the prompts' order, up to (not including) the end token.</param>
/// <param name="Finished">Whether each completion ended with the end token (else it hit the length limit).</param>
/// <param name="GeneratedTokens">Tokens written in all, the end tokens included.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record GenerationResult(IReadOnlyList<string> Completions, IReadOnlyList<bool> Finished, long GeneratedTokens, TimeSpan Elapsed)
{
    /// <summary>Generated tokens per second.</summary>
    public double TokensPerSecond => GeneratedTokens / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>
/// Autoregressive decoding for <see cref="TinyGpt"/>, batched over many prompts: prompts of the same length are decoded
/// together (so no padding or attention mask is needed), each step runs the whole sequence so far and appends one token
/// per row, and a row stops at the end token.
/// </summary>
/// <remarks>
/// With <see cref="GenerationOptions.UseCache"/> (the default) the prompt is read once and each step feeds only the new
/// token, attending to the cached keys and values of the earlier ones. Without it, step t recomputes all t positions,
/// about T²/2 position-forwards for a sequence of T tokens. Measured on the shared 2-core CPU (one torch thread), 2,000
/// chains of thought (62,000 tokens): the teacher in 3.3 s with the cache (18,800 tokens/s) and 41 s without; the
/// student in 1.1 s (57,700 tokens/s) and 11 s. The model runs in evaluation mode under <c>no_grad</c>, one dispose scope per step, and
/// gets its previous mode back.
/// </remarks>
public static class TextGenerator
{
    /// <summary>Completes each prompt.</summary>
    /// <exception cref="ArgumentException">A prompt is empty, has a character outside the vocabulary, or fills the context.</exception>
    public static GenerationResult Generate(TinyGpt model, CharVocabulary vocabulary, IReadOnlyList<string> prompts, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(prompts);
        options ??= GenerationOptions.Greedy;
        options.Validate();
        if (vocabulary.Size != model.Config.VocabSize)
            throw new ArgumentException($"The vocabulary has {vocabulary.Size} tokens but the model {model.Config.VocabSize}.", nameof(vocabulary));
        var encoded = prompts.Select(p => vocabulary.Encode(p)).ToArray();
        for (int i = 0; i < encoded.Length; i++)
        {
            if (encoded[i].Length == 0) throw new ArgumentException($"Prompt {i} is empty.", nameof(prompts));
            if (encoded[i].Length >= model.Config.ContextLength)
                throw new ArgumentException($"Prompt {i} has {encoded[i].Length} tokens, which leaves no room in the context of {model.Config.ContextLength}.", nameof(prompts));
        }

        var clock = Stopwatch.StartNew();
        var completions = new string[prompts.Count];
        var finished = new bool[prompts.Count];
        long generated = 0;
        bool wasTraining = model.training;
        model.eval();
        var device = model.parameters().First().device;
        using var generator = new Generator((ulong)options.Seed, device);
        try
        {
            using var noGrad = no_grad();
            foreach (var group in encoded.Select((tokens, index) => (tokens, index)).GroupBy(p => p.tokens.Length).OrderBy(g => g.Key))
            {
                foreach (var chunk in group.Chunk(options.BatchSize))
                {
                    var (rows, ended, count) = DecodeBatch(model, vocabulary, [.. chunk.Select(c => c.tokens)], options, generator);
                    generated += count;
                    for (int r = 0; r < chunk.Length; r++)
                    {
                        completions[chunk[r].index] = vocabulary.Decode(rows[r], stopAtEnd: true);
                        finished[chunk[r].index] = ended[r];
                    }
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new GenerationResult(completions, finished, generated, clock.Elapsed);
    }

    /// <summary>Decodes prompts of one length; returns the new tokens of each row, whether it ended, and the count.</summary>
    static (List<long>[] Rows, bool[] Ended, long Count) DecodeBatch(TinyGpt model, CharVocabulary vocabulary, long[][] prompts, GenerationOptions options, Generator generator)
    {
        int batch = prompts.Length, promptLength = prompts[0].Length;
        int steps = Math.Min(options.MaxNewTokens, model.Config.ContextLength - promptLength);
        var device = model.parameters().First().device;
        var rows = Enumerable.Range(0, batch).Select(_ => new List<long>()).ToArray();
        var ended = new bool[batch];
        long count = 0;
        var sequence = tensor(prompts.SelectMany(p => p).ToArray(), [batch, promptLength], device: device);
        using var cache = options.UseCache ? new KeyValueCache(model.Config.Layers) : null;
        try
        {
            for (int step = 0; step < steps && !ended.All(e => e); step++)
            {
                using var scope = NewDisposeScope();
                // With a cache: the whole prompt first, then only the newest token.
                var logits = cache is null ? model.call(sequence)
                    : model.forward(step == 0 ? sequence : sequence.narrow(1, sequence.shape[1] - 1, 1), cache);
                var last = logits.select(1, -1); // [B, V]
                var next = options.Temperature == 0
                    ? last.argmax(-1)
                    : multinomial(F.softmax(last.div(options.Temperature), -1), 1, generator: generator).squeeze(-1);
                // Rows that have ended keep writing pads, which never reach their text.
                var done = tensor(ended, device: device);
                next = next.masked_fill(done, vocabulary.PadId);
                var values = next.cpu().data<long>().ToArray();
                for (int r = 0; r < batch; r++)
                {
                    if (ended[r]) continue;
                    rows[r].Add(values[r]);
                    count++;
                    if (values[r] == vocabulary.EndId) ended[r] = true;
                }
                var longer = cat([sequence, next.unsqueeze(1)], 1).DetachFromDisposeScope();
                sequence.Dispose();
                sequence = longer;
            }
        }
        finally
        {
            sequence.Dispose();
        }
        return (rows, ended, count);
    }
}

using KnowledgeDistillation.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Language;

/// <summary>The shape of a <see cref="TinyGpt"/>.</summary>
/// <param name="VocabSize">Tokens in the vocabulary.</param>
/// <param name="ContextLength">The longest sequence the model reads (learned positions 0 … ContextLength − 1).</param>
/// <param name="Layers">Transformer blocks.</param>
/// <param name="Heads">Attention heads per block; must divide <paramref name="Width"/>.</param>
/// <param name="Width">The model width d (embedding size); the MLP is 4d wide.</param>
/// <param name="Dropout">Dropout after the embeddings, on the attention weights and on each residual branch, in [0, 1).</param>
public sealed record TinyGptConfig(int VocabSize, int ContextLength, int Layers, int Heads, int Width, double Dropout = 0.0)
{
    /// <summary>The context length of the presets: 72 tokens, enough for a 4-digit chain of thought (66 with the end).</summary>
    public const int DefaultContextLength = 72;

    /// <summary>
    /// The teacher: 4 blocks of width 128 with 4 heads, 807,700 parameters for the default 20-token vocabulary (measured by
    /// <c>LanguageModelTests</c>).
    /// </summary>
    public static TinyGptConfig Teacher(int vocabSize = 20, int contextLength = DefaultContextLength) => new(vocabSize, contextLength, 4, 4, 128);

    /// <summary>
    /// The student: 2 blocks of width 56 with 4 heads, 83,124 parameters for the default vocabulary, 9.7× fewer than the
    /// teacher (measured by <c>LanguageModelTests</c>).
    /// </summary>
    public static TinyGptConfig Student(int vocabSize = 20, int contextLength = DefaultContextLength) => new(vocabSize, contextLength, 2, 4, 56);

    /// <summary>Throws on sizes that cannot build a model.</summary>
    public void Validate()
    {
        if (VocabSize < 2) throw new ArgumentOutOfRangeException(nameof(VocabSize), VocabSize, "VocabSize must be at least 2.");
        if (ContextLength < 2) throw new ArgumentOutOfRangeException(nameof(ContextLength), ContextLength, "ContextLength must be at least 2.");
        if (Layers < 1) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "Layers must be at least 1.");
        if (Heads < 1) throw new ArgumentOutOfRangeException(nameof(Heads), Heads, "Heads must be at least 1.");
        if (Width < 1 || Width % Heads != 0)
            throw new ArgumentOutOfRangeException(nameof(Width), Width, $"Width must be a positive multiple of Heads ({Heads}).");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
    }
}

/// <summary>
/// A tiny decoder-only (GPT-style) transformer over characters: token and learned position embeddings, pre-layer-norm
/// blocks of causal multi-head self-attention and a GELU MLP, a final layer norm and a linear head to next-token logits.
/// </summary>
/// <remarks>
/// <para>Each block computes <c>x ← x + Attn(LN(x))</c>, <c>x ← x + MLP(LN(x))</c>, as in GPT-2 (Radford et al., "Language
/// Models are Unsupervised Multitask Learners", 2019) on the transformer of Vaswani et al., "Attention Is All You
/// Need", NeurIPS 2017. Attention is <c>softmax(QKᵀ/√d_h + M) V</c> with the causal mask M = −∞ above the diagonal, so
/// position t sees only positions ≤ t and the logits at t never depend on later tokens.</para>
/// <para>Input: token ids [B, T] (int64), T ≤ <see cref="TinyGptConfig.ContextLength"/>. Output: logits [B, T, V], where
/// position t predicts token t + 1. For decoding, <see cref="forward(Tensor, KeyValueCache)"/> reads only the new tokens
/// and attends to the cached keys and values of the earlier ones.</para>
/// </remarks>
public sealed class TinyGpt : nn.Module<Tensor, Tensor>
{
    readonly Embedding token_embedding;
    readonly Embedding position_embedding;
    readonly Dropout dropout;
    readonly ModuleList<GptBlock> blocks;
    readonly LayerNorm final_norm;
    readonly Linear head;

    /// <summary>Creates the model with freshly initialised weights (seed torch first for reproducible weights).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The configuration is invalid.</exception>
    public TinyGpt(TinyGptConfig config, string name = nameof(TinyGpt)) : base(name)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        token_embedding = nn.Embedding(config.VocabSize, config.Width);
        position_embedding = nn.Embedding(config.ContextLength, config.Width);
        dropout = nn.Dropout(config.Dropout);
        blocks = nn.ModuleList([.. Enumerable.Range(0, config.Layers).Select(i => new GptBlock(config, $"block{i}"))]);
        final_norm = nn.LayerNorm(config.Width);
        head = nn.Linear(config.Width, config.VocabSize);
        RegisterComponents();
        using (no_grad())
        {
            // GPT-2's initialisation: N(0, 0.02) embeddings; the defaults of Embedding (N(0, 1)) make training slow.
            nn.init.normal_(token_embedding.weight!, 0, 0.02);
            nn.init.normal_(position_embedding.weight!, 0, 0.02);
        }
    }

    /// <summary>The teacher preset, <see cref="TinyGptConfig.Teacher"/>, for the default vocabulary.</summary>
    public static TinyGpt Teacher() => new(TinyGptConfig.Teacher(CharVocabulary.Default.Size), "TinyGptTeacher");

    /// <summary>The student preset, <see cref="TinyGptConfig.Student"/>, for the default vocabulary.</summary>
    public static TinyGpt Student() => new(TinyGptConfig.Student(CharVocabulary.Default.Size), "TinyGptStudent");

    /// <summary>The model's shape.</summary>
    public TinyGptConfig Config { get; }

    /// <summary>The number of parameter elements.</summary>
    public long ParameterCount() => ModelSize.ParameterCount(this);

    /// <summary>The next-token logits [B, T, V] of token ids [B, T].</summary>
    /// <exception cref="ArgumentException">The ids are not a [B, T] int64 tensor with 1 ≤ T ≤ the context length.</exception>
    public override Tensor forward(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 2 || tokens.dtype != ScalarType.Int64)
            throw new ArgumentException($"{GetName()} expects token ids [batch, time] of type int64; got [{string.Join(", ", tokens.shape)}] {tokens.dtype}.", nameof(tokens));
        long time = tokens.shape[1];
        if (time < 1 || time > Config.ContextLength)
            throw new ArgumentException($"{GetName()} reads 1 to {Config.ContextLength} tokens (its context length); got {time}.", nameof(tokens));
        using var scope = NewDisposeScope();
        var x = Embed(tokens, 0);
        using var mask = CausalMask(time, 0, tokens.device);
        foreach (var block in blocks) x = block.Run(x, mask, null, 0);
        return head.call(final_norm.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The logits [B, t, V] of <paramref name="tokens"/> [B, t] that continue the sequence whose keys and values are in
    /// <paramref name="cache"/>, at positions <c>cache.Length</c> … <c>cache.Length + t − 1</c>; their keys and values
    /// are appended to the cache. Equal to the last t positions of <see cref="forward(Tensor)"/> on the whole sequence.
    /// </summary>
    /// <remarks>For decoding under <c>no_grad</c>: each new token then costs one position instead of the whole prefix.</remarks>
    /// <exception cref="ArgumentException">The cache belongs to another shape, or the sequence would outgrow the context.</exception>
    public Tensor forward(Tensor tokens, KeyValueCache cache)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.Layers != Config.Layers) throw new ArgumentException($"The cache has {cache.Layers} layers; {GetName()} has {Config.Layers}.", nameof(cache));
        long time = tokens.shape[^1], offset = cache.Length;
        if (tokens.dim() != 2 || tokens.dtype != ScalarType.Int64 || time < 1)
            throw new ArgumentException($"{GetName()} expects token ids [batch, time] of type int64; got [{string.Join(", ", tokens.shape)}] {tokens.dtype}.", nameof(tokens));
        if (offset + time > Config.ContextLength)
            throw new ArgumentException($"{GetName()} reads at most {Config.ContextLength} tokens (its context length); the cache holds {offset} and {time} more were given.", nameof(tokens));
        using var scope = NewDisposeScope();
        var x = Embed(tokens, offset);
        using var mask = CausalMask(time, offset, tokens.device);
        for (int i = 0; i < blocks.Count; i++) x = blocks[i].Run(x, mask, cache, i);
        cache.Length += time;
        return head.call(final_norm.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Token plus position embeddings of <paramref name="tokens"/> [B, t] at positions offset … offset + t − 1.</summary>
    Tensor Embed(Tensor tokens, long offset)
    {
        var positions = arange(offset, offset + tokens.shape[1], dtype: ScalarType.Int64, device: tokens.device);
        return dropout.call(token_embedding.call(tokens).add(position_embedding.call(positions)));
    }

    /// <summary>The causal mask [t, offset + t] of t new tokens after <paramref name="offset"/> earlier ones: true where
    /// attention is forbidden. New token j sits at position offset + j and may see positions 0 … offset + j.</summary>
    internal static Tensor CausalMask(long time, long offset, Device device) =>
        ones(time, offset + time, dtype: ScalarType.Bool, device: device).triu(offset + 1);
}

/// <summary>
/// The keys and values of the positions a <see cref="TinyGpt"/> has read, per layer ([B, heads, T, d_h] each), so that
/// decoding one more token attends to them without recomputing them. Owns its tensors; dispose it.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    readonly Tensor?[] keys;
    readonly Tensor?[] values;

    /// <summary>An empty cache for a model of <paramref name="layers"/> blocks.</summary>
    public KeyValueCache(int layers)
    {
        if (layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), layers, "layers must be at least 1.");
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
    }

    /// <summary>The number of blocks.</summary>
    public int Layers => keys.Length;

    /// <summary>The positions cached so far.</summary>
    public long Length { get; internal set; }

    /// <summary>Appends a layer's new keys and values (along the time axis) and returns all of them; the cache owns the results.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        var allK = keys[layer] is { } oldK ? cat([oldK, k], 2) : k.clone();
        var allV = values[layer] is { } oldV ? cat([oldV, v], 2) : v.clone();
        keys[layer]?.Dispose();
        values[layer]?.Dispose();
        keys[layer] = allK.DetachFromDisposeScope();
        values[layer] = allV.DetachFromDisposeScope();
        return (keys[layer]!, values[layer]!);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i]?.Dispose();
            values[i]?.Dispose();
            keys[i] = values[i] = null;
        }
    }
}

/// <summary>One pre-layer-norm transformer block: causal self-attention, then a GELU MLP, each on a residual branch.</summary>
sealed class GptBlock : nn.Module<Tensor, Tensor>
{
    readonly LayerNorm attention_norm;
    readonly CausalSelfAttention attention;
    readonly LayerNorm mlp_norm;
    readonly Linear mlp_in;
    readonly GELU gelu;
    readonly Linear mlp_out;
    readonly Dropout dropout;

    public GptBlock(TinyGptConfig config, string name) : base(name)
    {
        attention_norm = nn.LayerNorm(config.Width);
        attention = new CausalSelfAttention(config, "attention");
        mlp_norm = nn.LayerNorm(config.Width);
        mlp_in = nn.Linear(config.Width, 4 * config.Width);
        gelu = nn.GELU();
        mlp_out = nn.Linear(4 * config.Width, config.Width);
        dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var mask = TinyGpt.CausalMask(x.shape[1], 0, x.device);
        return Run(x, mask, null, 0);
    }

    /// <summary>The block with a precomputed causal mask [T, T'] (true where attention is forbidden) and an optional cache.</summary>
    public Tensor Run(Tensor x, Tensor mask, KeyValueCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        var h = x.add(attention.Run(attention_norm.call(x), mask, cache, layer));
        h = h.add(dropout.call(mlp_out.call(gelu.call(mlp_in.call(mlp_norm.call(h))))));
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary>Multi-head self-attention with a causal mask: <c>softmax(QKᵀ/√d_h + M) V</c>, heads concatenated and projected.</summary>
sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    readonly Linear qkv;
    readonly Dropout attention_dropout;
    readonly Linear projection;
    readonly Dropout residual_dropout;
    readonly int heads;

    public CausalSelfAttention(TinyGptConfig config, string name) : base(name)
    {
        heads = config.Heads;
        qkv = nn.Linear(config.Width, 3 * config.Width);
        attention_dropout = nn.Dropout(config.Dropout);
        projection = nn.Linear(config.Width, config.Width);
        residual_dropout = nn.Dropout(config.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var mask = TinyGpt.CausalMask(x.shape[1], 0, x.device);
        return Run(x, mask, null, 0);
    }

    public Tensor Run(Tensor x, Tensor mask, KeyValueCache? cache, int layer)
    {
        using var scope = NewDisposeScope();
        long batch = x.shape[0], time = x.shape[1], width = x.shape[2], headWidth = width / heads;
        var parts = qkv.call(x).view(batch, time, 3, heads, headWidth).permute(2, 0, 3, 1, 4); // [3, B, H, T, dh]
        var q = parts[0];
        var k = parts[1];
        var v = parts[2];
        if (cache is not null) (k, v) = cache.Append(layer, k, v);
        var scores = q.matmul(k.transpose(-2, -1)).div(Math.Sqrt(headWidth)).masked_fill(mask, double.NegativeInfinity);
        var weights = attention_dropout.call(F.softmax(scores, -1));
        var y = weights.matmul(v).transpose(1, 2).reshape(batch, time, width);
        return residual_dropout.call(projection.call(y)).MoveToOuterDisposeScope();
    }
}

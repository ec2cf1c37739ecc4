using KnowledgeDistillation.Language;
using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

/// <summary>TinyGpt, batched generation, the loss mask and token-level KD.</summary>
public class LanguageModelTests
{
    static readonly CharVocabulary V = CharVocabulary.Default;

    internal static TinyGpt Tiny(long seed = 0, int width = 16, int layers = 1)
    {
        manual_seed(seed);
        return new TinyGpt(new TinyGptConfig(V.Size, TinyGptConfig.DefaultContextLength, layers, 2, width));
    }

    [Fact]
    public void Teacher_has_about_ten_times_the_students_parameters()
    {
        using var teacher = TinyGpt.Teacher();
        using var student = TinyGpt.Student();
        // The counts stated in TinyGptConfig's XML docs.
        Assert.Equal(807_700, teacher.ParameterCount());
        Assert.Equal(83_124, student.ParameterCount());
        Assert.InRange((double)teacher.ParameterCount() / student.ParameterCount(), 9, 11);
    }

    [Fact]
    public void Changing_future_tokens_never_changes_earlier_logits()
    {
        using var model = Tiny(width: 32, layers: 2);
        model.eval();
        using var scope = NewDisposeScope();
        var tokens = randint(V.Size, [3, 20], generator: new Generator(1)).to_type(ScalarType.Int64);
        var changed = tokens.clone();
        changed[.., 12..] = randint(V.Size, [3, 8], generator: new Generator(2)).to_type(ScalarType.Int64);
        using var noGrad = no_grad();
        var a = model.call(tokens);
        var b = model.call(changed);
        Assert.Equal(new long[] { 3, 20, V.Size }, a.shape);
        // Positions 0..11 see only tokens 0..11: identical to the last bit (same operations on the same values).
        Assert.True(a[.., ..12].allclose(b[.., ..12], rtol: 0, atol: 0));
        Assert.False(a[.., 12..].allclose(b[.., 12..]));
    }

    [Fact]
    public void The_key_value_cache_gives_the_logits_of_the_full_forward()
    {
        using var model = Tiny(width: 32, layers: 2);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = randint(V.Size, [3, 15], generator: new Generator(7)).to_type(ScalarType.Int64);
        var full = model.call(tokens);
        using var cache = new KeyValueCache(2);
        var parts = new List<Tensor> { model.forward(tokens[.., ..6], cache) };
        for (int t = 6; t < 15; t++) parts.Add(model.forward(tokens[.., t..(t + 1)], cache));
        Assert.Equal(15, cache.Length);
        // The same sums in a different shape of matrix products: equal to float32 rounding.
        Assert.True(cat(parts, 1).allclose(full, rtol: 1e-4, atol: 1e-5));
        var e = Assert.Throws<ArgumentException>(() => model.forward(zeros(3, 60, dtype: ScalarType.Int64), cache));
        Assert.Contains("context length", e.Message);
    }

    [Fact]
    public void The_model_refuses_bad_inputs_with_clear_messages()
    {
        using var model = Tiny();
        var e = Assert.Throws<ArgumentException>(() => model.call(zeros(2, 73, dtype: ScalarType.Int64)));
        Assert.Contains("context length", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.call(zeros(2, 5)));
        Assert.Contains("int64", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TinyGptConfig(20, 72, 2, 3, 32).Validate());
    }

    [Fact]
    public void Greedy_generation_is_reproducible_and_batching_does_not_change_it()
    {
        using var model = Tiny();
        string[] prompts = ["47+85=", "1+2=", "123+456=", "9+9=", "10+99="];
        var all = TextGenerator.Generate(model, V, prompts, new GenerationOptions(MaxNewTokens: 20));
        var again = TextGenerator.Generate(model, V, prompts, new GenerationOptions(MaxNewTokens: 20, BatchSize: 2));
        Assert.Equal(all.Completions, again.Completions);
        var uncached = TextGenerator.Generate(model, V, prompts, new GenerationOptions(MaxNewTokens: 20, UseCache: false));
        Assert.Equal(all.Completions, uncached.Completions);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(all.Completions[i], TextGenerator.Generate(model, V, [prompts[i]], new GenerationOptions(MaxNewTokens: 20)).Completions[0]);
        Assert.True(model.training, "generation gives the model its mode back");
        Assert.All(all.Completions, c => Assert.True(c.Length <= 20));
        Assert.True(all.GeneratedTokens > 0);
    }

    [Fact]
    public void Sampling_with_a_seed_is_reproducible_and_seeds_differ()
    {
        using var model = Tiny();
        var prompts = Enumerable.Repeat("12+34=", 8).Concat(Enumerable.Repeat("5+6=", 8)).ToArray();
        GenerationOptions Options(long seed) => new(MaxNewTokens: 16, Temperature: 1.0, Seed: seed);
        var a = TextGenerator.Generate(model, V, prompts, Options(1)).Completions;
        var b = TextGenerator.Generate(model, V, prompts, Options(1)).Completions;
        var c = TextGenerator.Generate(model, V, prompts, Options(2)).Completions;
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a.Distinct().Count() > 1, "an untrained model sampled at T = 1 writes different texts for one prompt");
    }

    [Fact]
    public void Generation_stops_at_the_end_token()
    {
        // A model whose head always prefers the end token writes nothing and finishes.
        using var model = Tiny();
        using (no_grad())
        {
            var head = model.named_parameters().Single(p => p.name == "head.bias").parameter;
            head.zero_();
            head[V.EndId] = tensor(100f);
        }
        var result = TextGenerator.Generate(model, V, ["1+1=", "22+33="]);
        Assert.Equal(["", ""], result.Completions);
        Assert.Equal([true, true], result.Finished);
        Assert.Equal(2, result.GeneratedTokens);
    }

    [Fact]
    public void Generation_refuses_bad_prompts()
    {
        using var model = Tiny();
        Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, V, ["1-1="]));
        Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, V, [""]));
        Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, V, [new string('1', 72)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextGenerator.Generate(model, V, ["1+1="], new GenerationOptions(Temperature: -1)));
    }

    [Fact]
    public void The_loss_mask_keeps_only_completion_tokens()
    {
        using var data = LmSequences.Create(V, [new LmExample("47+85=", "132"), new LmExample("1+2=", "3")], 72);
        // "47+85=132\n": 10 tokens, inputs 9; targets "7+85=132\n"; the completion targets are "132\n".
        Assert.Equal([9, 5], data.Lengths);
        Assert.Equal(new long[] { 2, 9 }, data.Inputs.shape);
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 1, 1, 1, 1 }, data.LossMask[0].data<float>().ToArray());
        Assert.Equal(new float[] { 0, 0, 0, 1, 1, 0, 0, 0, 0 }, data.LossMask[1].data<float>().ToArray());
        Assert.Equal("7+85=132\n", V.Decode(data.Targets[0].data<long>().ToArray()));
        Assert.Equal("1+2=3____", V.Decode(data.Inputs[1].data<long>().ToArray()));

        // The prompt's positions get no gradient: the masked cross entropy does not look at them.
        using var scope = NewDisposeScope();
        var logits = randn(2, 9, V.Size).requires_grad_();
        LmTrainer.MaskedCrossEntropy(logits, data.Targets, data.LossMask).backward();
        var gradNorms = logits.grad!.abs().sum(-1);
        Assert.True(gradNorms.mul(data.LossMask.eq(0)).sum().item<float>() == 0);
        Assert.True(gradNorms.mul(data.LossMask).min().item<float>() >= 0);
        Assert.True(gradNorms[0, 5].item<float>() > 0);
    }

    [Fact]
    public void Masked_cross_entropy_is_the_mean_over_completion_tokens()
    {
        using var scope = NewDisposeScope();
        var logits = randn(2, 4, 5, generator: new Generator(3));
        var targets = tensor(new long[] { 1, 2, 3, 4, 0, 1, 2, 3 }, [2, 4]);
        var mask = tensor(new float[] { 0, 1, 1, 0, 1, 0, 0, 0 }, [2, 4]);
        var logProbs = F.log_softmax(logits, -1);
        double expected = -(logProbs[0, 1, 2].item<float>() + logProbs[0, 2, 3].item<float>() + logProbs[1, 0, 0].item<float>()) / 3;
        Assert.Equal(expected, LmTrainer.MaskedCrossEntropy(logits, targets, mask).item<float>(), 5);
    }

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(2.0, 1.0)]
    [InlineData(4.0, 0.7)]
    public void Token_KD_equals_the_librarys_KL_on_the_masked_positions(double T, double alpha)
    {
        using var scope = NewDisposeScope();
        var student = randn(3, 6, V.Size, generator: new Generator(4));
        var teacher = randn(3, 6, V.Size, generator: new Generator(5)).mul(3);
        var targets = randint(V.Size, [3, 6], generator: new Generator(6)).to_type(ScalarType.Int64);
        var mask = tensor(new float[] { 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1 }, [3, 6]);
        using var loss = new TokenKDLoss(T, alpha);
        var actual = loss.Compute(student, teacher, targets, mask);

        // By hand: gather the kept positions as a batch, then KLDivergence.BatchMean at temperature T, times T².
        var rows = new List<(int B, int P)>();
        for (int b = 0; b < 3; b++)
            for (int p = 0; p < 6; p++)
                if (mask[b, p].item<float>() == 1) rows.Add((b, p));
        var s = stack(rows.Select(r => student[r.B, r.P]));
        var t = stack(rows.Select(r => teacher[r.B, r.P]));
        var y = stack(rows.Select(r => targets[r.B, r.P]));
        var kl = KLDivergence.BatchMean(F.log_softmax(s.div(T), -1), F.log_softmax(t.div(T), -1));
        var ce = F.cross_entropy(s, y);
        var expected = kl.mul(alpha * T * T).add(ce.mul(1 - alpha));
        // float32 sums over 20 logits in a different order: 1e-5 relative.
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-6), $"{actual.item<float>()} vs {expected.item<float>()}");
        // A mask that weighs nothing gives 0/0, unchecked so that no step waits for the device; the trainer's NaN guard stops the run.
        Assert.True(double.IsNaN(loss.Compute(student, teacher, targets, zeros(3, 6)).item<float>()));
    }

    public static TheoryData<string> TokenLosses() => ["token-kd", "token-kd-with-ce", "reverse-kl", "jsd"];

    /// <summary>
    /// The mask weighs the positions, and means the same to every token loss: <c>Σ_i w_i ℓ_i / Σ_i w_i</c>, with ℓ_i the
    /// loss of position i alone. A weight of 2 counts a position twice, 0.5 half, 0 not at all (TokenKDLoss used to keep
    /// every non-zero position at weight 1, while ReverseKLLoss and GeneralizedJSDLoss weighed them).
    /// </summary>
    [Theory]
    [MemberData(nameof(TokenLosses))]
    public void Every_token_loss_weighs_the_positions_by_the_mask(string name)
    {
        using var scope = NewDisposeScope();
        var student = randn(2, 3, V.Size, dtype: ScalarType.Float64, generator: new Generator(7));
        var teacher = randn(2, 3, V.Size, dtype: ScalarType.Float64, generator: new Generator(8)).mul(2);
        var targets = randint(V.Size, [2, 3], generator: new Generator(9)).to_type(ScalarType.Int64);
        double[] weights = [0, 0.5, 1, 2, 0.25, 0];
        var mask = tensor(weights, [2, 3], dtype: ScalarType.Float64);
        using var tokenKd = new TokenKDLoss(2.0);
        using var tokenKdWithCe = new TokenKDLoss(2.0, alpha: 0.6);
        using var reverseKl = new ReverseKLLoss(2.0);
        using var jsd = new GeneralizedJSDLoss(0.3, T: 2.0);
        Func<Tensor, Tensor, Tensor, Tensor?, Tensor> loss = name switch
        {
            "token-kd" => (s, t, _, m) => tokenKd.Compute(s, t, null, m),
            "token-kd-with-ce" => tokenKdWithCe.Compute,
            "reverse-kl" => (s, t, _, m) => reverseKl.Compute(s, t, m),
            _ => (s, t, _, m) => jsd.Compute(s, t, m),
        };

        double sum = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            int b = i / 3, p = i % 3;
            var alone = loss(student[b, p].reshape(1, 1, -1), teacher[b, p].reshape(1, 1, -1), targets[b, p].reshape(1, 1), null);
            sum += weights[i] * alone.item<double>();
        }
        double expected = sum / weights.Sum();
        // float64 throughout; the sums run in another order than the loop above.
        Assert.Equal(expected, loss(student, teacher, targets, mask).item<double>(), 1e-12);
        // Scaling every weight changes nothing.
        Assert.Equal(expected, loss(student, teacher, targets, mask.mul(3)).item<double>(), 1e-12);
    }

    [Fact]
    public void Token_KD_gradients_reach_the_student_only()
    {
        using var scope = NewDisposeScope();
        var student = randn(2, 3, 5).requires_grad_();
        var teacher = randn(2, 3, 5).requires_grad_();
        using var loss = new TokenKDLoss(2.0);
        loss.call(student, teacher).backward();
        Assert.NotNull(student.grad);
        Assert.Null(teacher.grad);
        Assert.Throws<InvalidOperationException>(() => new TokenKDLoss(2.0, 0.5).call(student, teacher));
    }
}

using static TorchSharp.torch;

namespace KnowledgeDistillation.Language;

/// <summary>The exact-match accuracy of a model on a split.</summary>
/// <param name="Accuracy">The fraction of problems whose extracted final answer equals the sum.</param>
/// <param name="Correct">Problems answered correctly.</param>
/// <param name="Total">Problems.</param>
/// <param name="Completions">What the model wrote after each prompt, in the problems' order.</param>
/// <param name="Generation">The generation call's timing and token count.</param>
public sealed record ExactMatchResult(double Accuracy, int Correct, int Total, IReadOnlyList<string> Completions, GenerationResult Generation);

/// <summary>Metrics of a language model on the addition task: exact match, per-token loss, and generation speed.</summary>
public static class LmEvaluator
{
    /// <summary>
    /// Generates an answer for every problem (greedy unless <paramref name="options"/> says otherwise) and checks the
    /// final answer with <see cref="AdditionTask.ExtractAnswer"/>: the exact-match accuracy. A chain whose steps are
    /// wrong but whose final answer is right counts as correct, as in the outcome-only checks of R1-style training.
    /// </summary>
    public static ExactMatchResult ExactMatch(TinyGpt model, IReadOnlyList<AdditionProblem> problems, GenerationOptions? options = null, CharVocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count == 0) throw new ArgumentException("There are no problems.", nameof(problems));
        var generation = TextGenerator.Generate(model, vocabulary ?? CharVocabulary.Default, [.. problems.Select(p => p.Prompt)], options);
        int correct = problems.Where((p, i) => p.IsCorrect(generation.Completions[i])).Count();
        return new ExactMatchResult((double)correct / problems.Count, correct, problems.Count, generation.Completions, generation);
    }

    /// <summary>The mean next-token cross entropy (nats per token) over the completion tokens of <paramref name="examples"/>,
    /// in evaluation mode under <c>no_grad</c>, on the model's device.</summary>
    public static double TokenLoss(TinyGpt model, IReadOnlyList<LmExample> examples, CharVocabulary? vocabulary = null, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be at least 1.");
        using var data = LmSequences.Create(vocabulary ?? CharVocabulary.Default, examples, model.Config.ContextLength, model.parameters().First().device);
        bool wasTraining = model.training;
        model.eval();
        double sum = 0, tokens = 0;
        try
        {
            using var noGrad = no_grad();
            for (int from = 0; from < data.Count; from += batchSize)
            {
                using var scope = NewDisposeScope();
                int to = Math.Min(from + batchSize, data.Count);
                var (x, y, m) = data.Batch(arange(from, to, dtype: ScalarType.Int64, device: data.Device), [.. Enumerable.Range(from, to - from).Select(i => (long)i)]);
                double count = m.sum().item<float>();
                sum += LmTrainer.MaskedCrossEntropy(model.call(x), y, m).item<float>() * count;
                tokens += count;
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return sum / tokens;
    }
}

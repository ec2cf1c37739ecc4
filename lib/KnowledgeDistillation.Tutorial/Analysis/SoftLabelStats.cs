using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using Microsoft.Data.Analysis;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Analysis;

/// <summary>One entry of a probability distribution over classes.</summary>
/// <param name="Class">The class index.</param>
/// <param name="Name">The class name.</param>
/// <param name="Probability">Its probability, 0 to 1.</param>
public sealed record ClassProbability(int Class, string Name, double Probability)
{
    /// <summary>"Shirt 61.2 %".</summary>
    public override string ToString() => $"{Name} {100 * Probability:F1} %";
}

/// <summary>An off-diagonal entry of the matrix of average soft labels: how much probability the teacher gives, on
/// average, to <paramref name="OtherName"/> for images whose true class is <paramref name="TrueName"/>.</summary>
/// <param name="TrueClass">The row: the images' true class.</param>
/// <param name="OtherClass">The column: another class.</param>
/// <param name="TrueName">The true class's name.</param>
/// <param name="OtherName">The other class's name.</param>
/// <param name="Probability">The average probability, 0 to 1.</param>
public sealed record ClassPair(int TrueClass, int OtherClass, string TrueName, string OtherName, double Probability)
{
    /// <summary>"Shirt → T-shirt/top: 8.31 %".</summary>
    public override string ToString() => $"{TrueName} → {OtherName}: {100 * Probability:F2} %";
}

/// <summary>
/// Statistics of soft labels (軟標籤), the teacher's probabilities, against hard labels (硬標籤), the one-hot class
/// indices: which images are clear or ambiguous, which classes the teacher finds similar ("dark knowledge"), and how
/// much information each kind of label carries (entropy).
/// </summary>
/// <remarks>
/// Inputs are probabilities [N, C] (rows summing to 1, as <see cref="SoftTargets.Probabilities"/> returns them) and
/// int64 labels [N], on any device. Results are on the CPU. Entropies are in nats (natural logarithm).
/// </remarks>
public static class SoftLabelStats
{
    /// <summary>Hard labels as distributions: float32 one-hot rows [N, classes], a 1 at each label and 0 elsewhere.</summary>
    /// <exception cref="ArgumentException">labels is not int64 [N] or has a value outside [0, classes).</exception>
    public static Tensor OneHot(Tensor labels, int classes)
    {
        CheckLabels(labels, classes);
        using var scope = NewDisposeScope();
        return F.one_hot(labels, classes).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The class-similarity matrix: row c is the average soft label of the images whose true class is c,
    /// <c>S[c, k] = mean over {i : y_i = c} of p_i[k]</c>. Each row sums to 1; the diagonal is the average confidence in
    /// the true class, and the off-diagonal entries are the "dark knowledge": which other classes an image of class c
    /// resembles, in the teacher's eyes.
    /// </summary>
    /// <param name="probabilities">Soft labels [N, C].</param>
    /// <param name="labels">True classes, int64 [N].</param>
    /// <param name="correctOnly">Average only over the images the teacher classifies correctly (to show that the
    /// similarity is not just the teacher's mistakes).</param>
    /// <returns>float64 [C, C] on the CPU.</returns>
    /// <exception cref="ArgumentException">Shapes disagree, or some class has no (correctly classified) image.</exception>
    public static Tensor AverageSoftLabels(Tensor probabilities, Tensor labels, bool correctOnly = false)
    {
        CheckPair(probabilities, labels);
        int classes = (int)probabilities.shape[1];
        using var scope = NewDisposeScope();
        var p = probabilities.detach().cpu().to_type(ScalarType.Float64);
        var y = labels.cpu();
        if (correctOnly)
        {
            var keep = p.argmax(1).eq(y);
            p = p[keep];
            y = y[keep];
        }
        var counts = bincount(y, minlength: classes).to_type(ScalarType.Float64);
        var empty = counts.eq(0).nonzero();
        if (empty.shape[0] > 0)
            throw new ArgumentException($"Class {empty[0, 0].item<long>()} has no {(correctOnly ? "correctly classified " : "")}image, so it has no average soft label.", nameof(labels));
        var sums = zeros(classes, classes, dtype: ScalarType.Float64).index_add(0, y, p, 1);
        return sums.div(counts.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>A [rows, columns] tensor as a <c>double[,]</c> (for charts and tables).</summary>
    public static double[,] ToMatrix(Tensor matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.dim() != 2) throw new ArgumentException($"Expected a matrix; got shape [{string.Join(", ", matrix.shape)}].", nameof(matrix));
        using var scope = NewDisposeScope();
        int rows = (int)matrix.shape[0], columns = (int)matrix.shape[1];
        var values = matrix.detach().cpu().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        var result = new double[rows, columns];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < columns; j++)
                result[i, j] = values[i * columns + j];
        return result;
    }

    /// <summary>The <paramref name="count"/> largest off-diagonal entries of a class-similarity matrix, largest first.</summary>
    /// <param name="averageSoftLabels">[C, C], as <see cref="AverageSoftLabels"/> returns it.</param>
    /// <param name="count">How many pairs.</param>
    /// <param name="classNames">Names by class; Fashion-MNIST's when null.</param>
    public static IReadOnlyList<ClassPair> MostSimilarPairs(Tensor averageSoftLabels, int count = 5, IReadOnlyList<string>? classNames = null)
    {
        var m = ToMatrix(averageSoftLabels);
        int n = m.GetLength(0);
        if (m.GetLength(1) != n) throw new ArgumentException("The class-similarity matrix must be square.", nameof(averageSoftLabels));
        classNames = Names(classNames, n);
        return [.. (from i in Enumerable.Range(0, n)
                    from j in Enumerable.Range(0, n)
                    where i != j
                    orderby m[i, j] descending
                    select new ClassPair(i, j, classNames[i], classNames[j], m[i, j])).Take(count)];
    }

    /// <summary>The <paramref name="count"/> most probable classes of one distribution [C], most probable first.</summary>
    public static IReadOnlyList<ClassProbability> TopClasses(Tensor probabilities, int count = 3, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.dim() != 1) throw new ArgumentException($"Expected one distribution [C]; got shape [{string.Join(", ", probabilities.shape)}].", nameof(probabilities));
        using var scope = NewDisposeScope();
        var p = probabilities.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
        classNames = Names(classNames, p.Length);
        return [.. p.Select((v, i) => new ClassProbability(i, classNames[i], v)).OrderByDescending(c => c.Probability).Take(count)];
    }

    /// <summary>"Shirt 61.2 %, T-shirt/top 30.1 %, Pullover 5.0 %": the top classes of one distribution as text.</summary>
    public static string Describe(Tensor probabilities, int count = 3, IReadOnlyList<string>? classNames = null) =>
        string.Join(", ", TopClasses(probabilities, count, classNames));

    /// <summary>
    /// Clear items: the indices of the <paramref name="count"/> images of class <paramref name="classIndex"/> that the
    /// teacher classifies correctly with the highest probability, most confident first.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than <paramref name="count"/> such images.</exception>
    public static long[] MostConfident(Tensor probabilities, Tensor labels, int classIndex, int count = 1)
    {
        CheckPair(probabilities, labels);
        using var scope = NewDisposeScope();
        var p = probabilities.detach().cpu();
        var y = labels.cpu();
        var candidates = y.eq(classIndex).logical_and(p.argmax(1).eq(classIndex)).nonzero().squeeze(1);
        var score = p.index_select(0, candidates).select(1, classIndex);
        return Pick(candidates, score, count, $"correctly classified images of class {classIndex}");
    }

    /// <summary>
    /// Ambiguous items: the indices of the <paramref name="count"/> images of class <paramref name="classIndex"/> whose
    /// soft label has the highest entropy, most uncertain first (whether the teacher gets them right or not).
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than <paramref name="count"/> images of that class.</exception>
    public static long[] MostAmbiguous(Tensor probabilities, Tensor labels, int classIndex, int count = 1)
    {
        CheckPair(probabilities, labels);
        using var scope = NewDisposeScope();
        var p = probabilities.detach().cpu();
        var candidates = labels.cpu().eq(classIndex).nonzero().squeeze(1);
        var score = SoftTargets.Entropy(p.index_select(0, candidates));
        return Pick(candidates, score, count, $"images of class {classIndex}");
    }

    /// <summary>
    /// Items torn between two similar classes: the indices of the <paramref name="count"/> images of class
    /// <paramref name="classIndex"/> whose soft label is most evenly split between the true class and one of
    /// <paramref name="similarClasses"/>, scored by <c>min(p_true, max over k in similarClasses of p_k)</c>, highest first.
    /// A shirt with 45 % shirt and 40 % T-shirt/top scores 0.40; a clear shirt or an odd image scores low.
    /// </summary>
    /// <exception cref="ArgumentException">No similar class other than the true one, or fewer than <paramref name="count"/> images of that class.</exception>
    public static long[] MostConfusedWith(Tensor probabilities, Tensor labels, int classIndex, IReadOnlyCollection<int> similarClasses, int count = 1)
    {
        CheckPair(probabilities, labels);
        ArgumentNullException.ThrowIfNull(similarClasses);
        long[] others = [.. similarClasses.Where(k => k != classIndex).Select(k => (long)k)];
        if (others.Length == 0) throw new ArgumentException("Give at least one similar class other than the true class.", nameof(similarClasses));
        using var scope = NewDisposeScope();
        var candidates = labels.cpu().eq(classIndex).nonzero().squeeze(1);
        var p = probabilities.detach().cpu().index_select(0, candidates);
        var rival = p.index_select(1, tensor(others)).max(1).values;
        var score = minimum(p.select(1, classIndex), rival);
        return Pick(candidates, score, count, $"images of class {classIndex}");
    }

    /// <summary>For each image, how many wrong classes get a probability above <paramref name="threshold"/>; int64 [N].
    /// For a hard label this is always 0.</summary>
    public static Tensor WrongClassesAbove(Tensor probabilities, Tensor labels, double threshold = 0.01)
    {
        CheckPair(probabilities, labels);
        using var scope = NewDisposeScope();
        var p = probabilities.detach().cpu();
        var wrong = ones_like(p, dtype: ScalarType.Bool).scatter(1, labels.cpu().unsqueeze(1), zeros(p.shape[0], 1, dtype: ScalarType.Bool));
        return p.gt(threshold).logical_and(wrong).sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One row per class, comparing the information in hard and soft labels: images, the teacher's accuracy, its mean
    /// probability for the true class, the mean entropy of the soft labels (a hard label's is 0), and the mean number of
    /// wrong classes that get more than <paramref name="threshold"/> (a hard label's is 0). A last row, "all", covers
    /// every image.
    /// </summary>
    public static DataFrame InformationByClass(Tensor probabilities, Tensor labels, IReadOnlyList<string>? classNames = null, double threshold = 0.01)
    {
        CheckPair(probabilities, labels);
        int classes = (int)probabilities.shape[1];
        classNames = Names(classNames, classes);
        using var scope = NewDisposeScope();
        var p = probabilities.detach().cpu().to_type(ScalarType.Float64);
        var y = labels.cpu();
        var entropy = SoftTargets.Entropy(p);
        var trueProbability = p.gather(1, y.unsqueeze(1)).squeeze(1);
        var correct = p.argmax(1).eq(y).to_type(ScalarType.Float64);
        var wrongAbove = WrongClassesAbove(p, y, threshold).to_type(ScalarType.Float64);

        var names = new List<string>();
        var counts = new List<long>();
        var accuracy = new List<double>();
        var meanTrue = new List<double>();
        var meanEntropy = new List<double>();
        var meanWrong = new List<double>();
        void Add(string name, Tensor mask)
        {
            long n = mask.sum().item<long>();
            names.Add(name);
            counts.Add(n);
            double Mean(Tensor t) => n == 0 ? double.NaN : t[mask].mean().item<double>();
            accuracy.Add(Math.Round(100 * Mean(correct), 2));
            meanTrue.Add(Math.Round(100 * Mean(trueProbability), 2));
            meanEntropy.Add(Math.Round(Mean(entropy), 4));
            meanWrong.Add(Math.Round(Mean(wrongAbove), 3));
        }
        for (int c = 0; c < classes; c++) Add(classNames[c], y.eq(c));
        Add("all", ones_like(y, dtype: ScalarType.Bool));

        return new DataFrame(
            new StringDataFrameColumn("class", names),
            new PrimitiveDataFrameColumn<long>("images", counts),
            new PrimitiveDataFrameColumn<double>("teacher accuracy %", accuracy),
            new PrimitiveDataFrameColumn<double>("mean p(true class) %", meanTrue),
            new PrimitiveDataFrameColumn<double>("entropy, hard label", Enumerable.Repeat(0.0, names.Count)),
            new PrimitiveDataFrameColumn<double>("entropy, soft label", meanEntropy),
            new PrimitiveDataFrameColumn<double>($"wrong classes > {100 * threshold:G3} %", meanWrong));
    }

    static long[] Pick(Tensor candidates, Tensor score, int count, string what)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1.");
        if (candidates.shape[0] < count)
            throw new ArgumentException($"There are only {candidates.shape[0]} {what}; {count} were asked for.");
        var order = score.argsort(descending: true).narrow(0, 0, count);
        return candidates.index_select(0, order).data<long>().ToArray();
    }

    internal static IReadOnlyList<string> Names(IReadOnlyList<string>? classNames, int classes)
    {
        classNames ??= classes == FashionMnist.NumClasses ? FashionMnist.ClassNames : [.. Enumerable.Range(0, classes).Select(i => $"class {i}")];
        if (classNames.Count != classes)
            throw new ArgumentException($"There are {classes} classes but {classNames.Count} class names.", nameof(classNames));
        return classNames;
    }

    static void CheckLabels(Tensor labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.dim() != 1 || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"labels must be int64 [N]; got {labels.dtype} [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (labels.shape[0] == 0) return;
        using var scope = NewDisposeScope();
        long min = labels.min().item<long>(), max = labels.max().item<long>();
        if (min < 0 || max >= classes)
            throw new ArgumentException($"labels must be in [0, {classes - 1}]; found {(min < 0 ? min : max)}.", nameof(labels));
    }

    static void CheckPair(Tensor probabilities, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.dim() != 2)
            throw new ArgumentException($"probabilities must be [N, C]; got [{string.Join(", ", probabilities.shape)}].", nameof(probabilities));
        CheckLabels(labels, (int)probabilities.shape[1]);
        if (labels.shape[0] != probabilities.shape[0])
            throw new ArgumentException($"There are {probabilities.shape[0]} distributions but {labels.shape[0]} labels.", nameof(labels));
    }
}

using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Training;
using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 09 (reproduce everything): Welch's t of two methods' accuracies over
/// seeds, and the share of the teacher–student gap that distillation closed. Each names the mistake it finds: a
/// population standard deviation, a pooled variance, a forgotten square root, a reversed difference; a gain divided by
/// the teacher's accuracy, a percentage, a gap measured from the distilled student, no guard for a teacher that is not better.
/// </summary>
public static class ReproductionChecks
{
    /// <summary>
    /// Checks <c>myWelchT(a, b)</c>: Welch's t of mean(a) − mean(b), <c>(ā − b̄) / √(s_a²/n_a + s_b²/n_b)</c> with sample
    /// variances (divided by n − 1), as <see cref="MeanStd.WelchT"/> computes it. The two groups have different sizes
    /// and spreads, so a pooled (Student's) t gives a different number.
    /// </summary>
    public static CheckResult CheckWelchT(Func<IReadOnlyList<double>, IReadOnlyList<double>, double> myWelchT)
    {
        ArgumentNullException.ThrowIfNull(myWelchT);
        double[] a = [84.52, 84.31, 84.67], b = [82.34, 82.71, 81.96, 82.55, 81.40];
        double value;
        try
        {
            value = myWelchT(a, b);
        }
        catch (Exception e)
        {
            return LearnerCode.Threw("MyWelchT", e);
        }
        double expected = MeanStd.Of(a).WelchT(MeanStd.Of(b));
        if (double.IsFinite(value) && Math.Abs(value - expected) <= 1e-9 * Math.Max(1, Math.Abs(expected)))
            return LearnerCode.Pass(Say($"t = (ā − b̄) / √(s_a²/n_a + s_b²/n_b) with sample variances: {value:F4} for groups of 3 and 5 seeds, the same as MeanStd.WelchT.",
                $"t = (ā − b̄) / √(s_a²/n_a + s_b²/n_b)，使用樣本變異數：對 3 個與 5 個隨機種子的兩組得到 {value:F4}，與 MeanStd.WelchT 相同。"));
        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right, new(Say("Use the sample variance, divided by n − 1: with 3 seeds the population variance (divided by n) underestimates the spread and makes t too large.",
                "請使用除以 n − 1 的樣本變異數：只有 3 個隨機種子時，母體變異數（除以 n）會低估離散程度，使 t 過大。"))],
            [Choice.Right, new(Say("That is Student's t with a pooled variance. Welch's t does not assume equal variances: s_a²/n_a + s_b²/n_b, each group with its own variance and size.",
                "那是使用合併變異數的 Student t。Welch t 不假設變異數相等：s_a²/n_a + s_b²/n_b，每組使用自己的變異數與大小。"))],
            [Choice.Right, new(Say("Take the square root of s_a²/n_a + s_b²/n_b: t divides the difference by a standard error, not by a variance.",
                "請對 s_a²/n_a + s_b²/n_b 取平方根：t 是把差值除以標準誤，而不是除以變異數。"))],
            [Choice.Right, new(Say("The sign is reversed: t is for mean(a) − mean(b), so a method (a) better than scratch (b) gets a positive t.",
                "正負號反了：t 對應的是 mean(a) − mean(b)，所以比從頭訓練（b）更好的方法（a）會得到正的 t。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => tensor(WelchVariant(a, b, c), ScalarType.Float64), tensor(value, ScalarType.Float64));
        return MistakeFinder.Verdict(explained, "",
            Say($"for a = [{string.Join(", ", a)}] and b = [{string.Join(", ", b)}] MyWelchT gave {value:G6}, but Welch's t is {expected:G6}: (mean(a) − mean(b)) / √(s_a²/n_a + s_b²/n_b), with s² = Σ(x − x̄)² / (n − 1).",
                $"對 a = [{string.Join(", ", a)}] 與 b = [{string.Join(", ", b)}]，MyWelchT 得到 {value:G6}，但 Welch t 是 {expected:G6}：(mean(a) − mean(b)) / √(s_a²/n_a + s_b²/n_b)，其中 s² = Σ(x − x̄)² / (n − 1)。"));
    }

    // choices: variance divisor (n − 1 / n), Welch / pooled, square root / none, a − b / b − a
    static double WelchVariant(double[] a, double[] b, int[] c)
    {
        double Mean(double[] x) => x.Average();
        double SumSquares(double[] x) => x.Sum(v => (v - Mean(x)) * (v - Mean(x)));
        double Var(double[] x) => SumSquares(x) / (c[0] == 0 ? x.Length - 1 : x.Length);
        double se2 = c[1] == 0
            ? Var(a) / a.Length + Var(b) / b.Length
            : (SumSquares(a) + SumSquares(b)) / (a.Length + b.Length - (c[0] == 0 ? 2 : 0)) * (1.0 / a.Length + 1.0 / b.Length);
        double denominator = c[2] == 0 ? Math.Sqrt(se2) : se2;
        double difference = c[3] == 0 ? Mean(a) - Mean(b) : Mean(b) - Mean(a);
        return difference / denominator;
    }

    /// <summary>
    /// Checks <c>myGapClosed(teacher, scratch, distilled)</c>, accuracies in percent: the fraction of the gap between the
    /// student from scratch and the teacher that the distilled student closed, <c>(distilled − scratch) / (teacher −
    /// scratch)</c>, as <see cref="ReferenceResults.GapClosed"/> computes it; NaN when the teacher is not better than the
    /// scratch student (there is no gap to close).
    /// </summary>
    public static CheckResult CheckGapClosed(Func<double, double, double, double> myGapClosed)
    {
        ArgumentNullException.ThrowIfNull(myGapClosed);
        // Hinton's MNIST figures, the PyTorch tutorial's, and a method that made the student worse (RepDistiller's RKD).
        (double Teacher, double Scratch, double Distilled, string Name)[] cases =
        [
            (99.33, 98.54, 99.26, Say("Hinton et al.'s MNIST result", "Hinton 等人的 MNIST 結果")),
            (75.10, 69.86, 70.80, Say("the PyTorch tutorial's CIFAR-10 result", "PyTorch 教學的 CIFAR-10 結果")),
            (79.42, 72.50, 71.90, Say("RepDistiller's resnet32x4 → resnet8x4 RKD student (worse than scratch)",
                "RepDistiller 的 resnet32x4 → resnet8x4 RKD 學生（比從頭訓練更差）")),
        ];
        foreach (var (teacher, scratch, distilled, name) in cases)
        {
            double value;
            try
            {
                value = myGapClosed(teacher, scratch, distilled);
            }
            catch (Exception e)
            {
                return LearnerCode.Threw("MyGapClosed", e);
            }
            double expected = ReferenceResults.GapClosed(teacher, scratch, distilled);
            if (Math.Abs(value - expected) <= 1e-9) continue;
            IReadOnlyList<IReadOnlyList<Choice>> dimensions =
            [
                [Choice.Right,
                 new(Say("Divide by the gap, teacher − scratch, not by the teacher's accuracy: the question is how much of the distance to the teacher was covered.",
                     "請除以差距 teacher − scratch，而不是教師的準確率：要問的是與教師之間的距離縮小了多少。")),
                 new(Say("Divide by teacher − scratch: you measured the gap from the distilled student (teacher − distilled), which is what is left, not what there was.",
                     "請除以 teacher − scratch：你量的是從蒸餾學生算起的差距（teacher − distilled），那是剩下的差距，而不是原本的差距。")),
                 new(Say("That is the gain in points, distilled − scratch; divide it by the gap, teacher − scratch, to get the share.",
                     "那是以百分點計的進步 distilled − scratch；請把它除以差距 teacher − scratch，得到比例。"))],
                [Choice.Right, new(Say("Return a fraction (0.91), not a percentage (91): multiply by 100 only when you print it.",
                    "請傳回比例（0.91），而不是百分比（91）：只有在印出時才乘以 100。"))],
                [Choice.Right, new(Say("The sign is reversed: the gain is distilled − scratch, so a student that got worse has a negative share.",
                    "正負號反了：進步是 distilled − scratch，所以變差的學生，其比例是負的。"))],
            ];
            var explained = MistakeFinder.Explain(dimensions, c => tensor(GapVariant(teacher, scratch, distilled, c), ScalarType.Float64), tensor(value, ScalarType.Float64));
            var verdict = MistakeFinder.Verdict(explained, "",
                Say($"for {name} (teacher {teacher}, scratch {scratch}, distilled {distilled}) MyGapClosed gave {value:G6}, but the share is {expected:G6} = (distilled − scratch) / (teacher − scratch).",
                    $"對 {name}（teacher {teacher}、scratch {scratch}、distilled {distilled}），MyGapClosed 得到 {value:G6}，但比例是 {expected:G6} = (distilled − scratch) / (teacher − scratch)。"));
            return explained is null ? verdict
                : verdict with { Message = verdict.Message + Say($" (For {name}: you gave {value:G4}, the share is {expected:G4}.)",
                    $"（對 {name}：你給出 {value:G4}，比例是 {expected:G4}。）") };
        }
        double noGap;
        try
        {
            noGap = myGapClosed(70.0, 70.0, 71.0);
        }
        catch (Exception e)
        {
            return LearnerCode.Fail(Say($"MyGapClosed threw {e.GetType().Name} when the teacher is no better than the scratch student: return double.NaN there instead. ({e.Message})",
                $"教師不比從頭訓練的學生好時，MyGapClosed 擲出了 {e.GetType().Name}：這時請改為傳回 double.NaN。（{e.Message}）"));
        }
        if (!double.IsNaN(noGap))
            return LearnerCode.Fail(Say($"with a teacher no better than the scratch student (70 and 70) there is no gap to close, and MyGapClosed gave {noGap}. Return double.NaN when teacher ≤ scratch.",
                $"教師不比從頭訓練的學生好時（70 與 70），沒有差距可以縮小，而 MyGapClosed 得到 {noGap}。當 teacher ≤ scratch 時，請傳回 double.NaN。"));
        return LearnerCode.Pass(Say("(distilled − scratch) / (teacher − scratch): 0.91 for Hinton's MNIST result, 0.18 for the PyTorch tutorial, negative for a student that got worse, and NaN without a gap.",
            "(distilled − scratch) / (teacher − scratch)：Hinton 的 MNIST 結果為 0.91，PyTorch 教學為 0.18，變差的學生為負值，沒有差距時為 NaN。"));
    }

    // choices: denominator (teacher − scratch / teacher / teacher − distilled / 1), scale (fraction / percent), sign
    static double GapVariant(double teacher, double scratch, double distilled, int[] c)
    {
        double gain = c[2] == 0 ? distilled - scratch : scratch - distilled;
        double denominator = c[0] switch { 0 => teacher - scratch, 1 => teacher, 2 => teacher - distilled, _ => 1 };
        return gain / denominator * (c[1] == 0 ? 1 : 100);
    }
}

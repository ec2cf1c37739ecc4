using TorchSharp;
using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 03 (KL divergence vs cross entropy). Each runs the learner's function on
/// random float64 inputs, compares it with the right answer, and when it differs, names the mistake: the arguments
/// swapped, "mean" instead of "batchmean", cross entropy instead of KL, <c>log_target</c> wrong, and so on.
/// </summary>
public static class DivergenceChecks
{
    const int Batch = 4, Classes = 6;

    /// <summary>
    /// Checks <c>myKl(p, q)</c> = <c>(1/B) Σ_b Σ_i p_bi (log p_bi − log q_bi)</c>, KL(p ‖ q) averaged over the batch, from
    /// probabilities p and q of shape [B, C]. A second test puts exact zeros in p, where 0 · log 0 must count as 0.
    /// </summary>
    public static CheckResult CheckKl(Func<Tensor, Tensor, Tensor> myKl)
    {
        ArgumentNullException.ThrowIfNull(myKl);
        using var scope = NewDisposeScope();
        var (p, q) = (RandomProbabilities(1), RandomProbabilities(2));
        var (value, failure) = MistakeFinder.Call(() => myKl(p.clone(), q.clone()), "MyKl");
        if (failure is not null) return failure;
        if (MistakeFinder.ExpectScalar(value!, Batch, "MyKl") is { } shape) return shape;
        if (value!.isnan().any().item<bool>())
            return LearnerCode.Fail(Say("MyKl returned NaN for strictly positive p and q. Take the log of probabilities, not of log-probabilities, and check for a division by zero.",
                "MyKl 在 p 與 q 都嚴格為正時傳回了 NaN。請對機率取 log，而不是對對數機率取 log，並檢查是否有除以零。"));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right, new(Say("p and q are swapped: you computed KL(q ‖ p). KL(p ‖ q) = Σ p (log p − log q) weighs by p, the first argument (the target).",
                "p 與 q 對調了：你計算的是 KL(q ‖ p)。KL(p ‖ q) = Σ p (log p − log q) 以第一個引數 p（目標）加權。"))],
            [Choice.Right, new(Say("That is the cross entropy −Σ p log q, not the KL divergence: subtract the entropy H(p) = −Σ p log p (KL = CE − H).",
                "那是交叉熵 −Σ p log q，不是 KL 散度：請減去熵 H(p) = −Σ p log p（KL = CE − H）。"))],
            [Choice.Right, new(Say("The sign is flipped: KL(p ‖ q) = Σ p (log p − log q) is never negative.",
                "正負號反了：KL(p ‖ q) = Σ p (log p − log q) 永遠不會是負的。"))],
            [Choice.Right,
             new(Say($"You averaged over all B × C = {Batch} × {Classes} entries (\"mean\"), which divides by the number of classes too. KL sums over the classes and averages over the batch only (\"batchmean\").",
                 $"你對全部 B × C = {Batch} × {Classes} 個元素取了平均（「mean」），這也會除以類別數。KL 是對類別加總，只對批次取平均（「batchmean」）。")),
             new(Say($"You summed over the batch; divide by the batch size (B = {Batch}) to get the mean per example (\"batchmean\").",
                 $"你對批次加總了；請除以批次大小（B = {Batch}），得到每個範例的平均（「batchmean」）。"))],
            [Choice.Right, new(Say("You used log base 2 (bits); use the natural log (nats), as torch's losses do.",
                "你用了以 2 為底的 log（位元）；請和 torch 的損失一樣，使用自然對數（奈特）。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => KlVariant(p, q, c), value);
        var verdict = MistakeFinder.Verdict(explained, Say("MyKl computes KL(p ‖ q) averaged over the batch.", "MyKl 計算的是對批次取平均的 KL(p ‖ q)。"),
            Say($"MyKl(p, q) gave {value.item<double>():G6}, but KL(p ‖ q) averaged over the batch is {KlVariant(p, q, new int[5]).item<double>():G6}. ",
                $"MyKl(p, q) 得到 {value.item<double>():G6}，但對批次取平均的 KL(p ‖ q) 是 {KlVariant(p, q, new int[5]).item<double>():G6}。") +
            Say("Compute Σ_i p_i (log p_i − log q_i) for each row, then average over the rows.", "請對每一列計算 Σ_i p_i (log p_i − log q_i)，再對各列取平均。"));
        if (!verdict.Passed) return verdict;

        // Exact zeros in p: 0 · log 0 is 0 by convention (the limit of x log x), but 0 * log(0) is 0 * −∞ = NaN in floating point.
        var pZero = p.clone();
        pZero[0, 0] = 0.0;
        pZero[0] = pZero[0].div(pZero[0].sum());
        var (zeroValue, zeroFailure) = MistakeFinder.Call(() => myKl(pZero.clone(), q.clone()), "MyKl");
        if (zeroFailure is not null) return zeroFailure;
        if (!MistakeFinder.Close(zeroValue!, KlVariant(pZero, q, new int[5])))
            return LearnerCode.Fail(
                Say("right for strictly positive p, but not when p has an exact zero", "p 嚴格為正時是對的，但 p 有恰好為 0 的值時就不對了") +
                (zeroValue!.isnan().any().item<bool>() ? Say(" (you got NaN)", "（你得到 NaN）") : "") +
                Say(". By convention 0 · log 0 = 0, but in floating point 0 * log(0) = 0 * (−∞) = NaN. Use xlogy(p, p) − xlogy(p, q), which is 0 wherever p is 0.",
                    "。依照慣例 0 · log 0 = 0，但在浮點數中 0 * log(0) = 0 * (−∞) = NaN。請用 xlogy(p, p) − xlogy(p, q)，它在 p 為 0 之處都是 0。"));
        return new CheckResult(true, verdict.Message + Say(" It also handles exact zeros in p (0 · log 0 = 0).",
            "它也能處理 p 中恰好為 0 的值（0 · log 0 = 0）。"));
    }

    /// <summary>
    /// Checks <c>myKlDiv(studentLogits, teacherLogits)</c>, which should call TorchSharp's <c>kl_div</c> to compute
    /// KL(p_teacher ‖ q_student) averaged over the batch, at T = 1, from logits of shape [B, C].
    /// </summary>
    /// <remarks>TorchSharp's <c>kl_div(input, target)</c> expects <c>input</c> = log q (the student's log-probabilities),
    /// computes KL(target ‖ input), defaults to <c>log_target: true</c> (PyTorch: false) and to reduction Mean, which
    /// divides by B × C, not by B.</remarks>
    public static CheckResult CheckKlDiv(Func<Tensor, Tensor, Tensor> myKlDiv)
    {
        ArgumentNullException.ThrowIfNull(myKlDiv);
        using var scope = NewDisposeScope();
        var (student, teacher) = (RandomLogits(3), RandomLogits(4));
        var (value, failure) = MistakeFinder.Call(() => myKlDiv(student.clone(), teacher.clone()), "MyKlDiv");
        if (failure is not null) return failure;
        if (MistakeFinder.ExpectScalar(value!, Batch, "MyKlDiv") is { } shape) return shape;
        if (value!.isnan().any().item<bool>())
            return LearnerCode.Fail(
                Say("MyKlDiv returned NaN. A usual cause: log-probabilities passed as the target with log_target: false, so kl_div takes the log of negative numbers. ",
                    "MyKlDiv 傳回了 NaN。常見的原因：以 log_target: false 傳入對數機率作為 target，於是 kl_div 對負數取 log。") +
                Say("Pass log p with log_target: true, or p with log_target: false.", "請以 log_target: true 傳入 log p，或以 log_target: false 傳入 p。"));

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right, new(Say("Student and teacher are swapped. kl_div(input, target) computes KL(target ‖ input): the input is the student's log q, the target is the teacher's distribution.",
                "學生與教師對調了。kl_div(input, target) 計算的是 KL(target ‖ input)：input 是學生的 log q，target 是教師的分布。"))],
            [Choice.Right,
             new(Say("The input must be log-probabilities: log_softmax(studentLogits, 1), not the raw logits.",
                 "input 必須是對數機率：log_softmax(studentLogits, 1)，而不是原始的邏輯值。")),
             new(Say("The input must be log-probabilities (log_softmax), not probabilities (softmax).",
                 "input 必須是對數機率（log_softmax），而不是機率（softmax）。"))],
            [Choice.Right,
             new(Say("You passed probabilities as the target while log_target is true, TorchSharp's default (PyTorch's default is false): kl_div then reads your p as log p. Pass log_softmax(teacherLogits, 1) with log_target: true, or p with log_target: false.",
                 "你在 log_target 為 true（TorchSharp 的預設值；PyTorch 的預設值是 false）時把機率當作 target 傳入：kl_div 會把你的 p 當成 log p。請以 log_target: true 傳入 log_softmax(teacherLogits, 1)，或以 log_target: false 傳入 p。"))],
            [Choice.Right,
             new(Say($"The reduction is Mean, TorchSharp's default, which divides by B × C = {Batch * Classes}, not by the batch size {Batch}: the result is {Classes} times too small. Use reduction: Sum and divide by the batch size (\"batchmean\").",
                 $"reduction 是 Mean（TorchSharp 的預設值），它除以 B × C = {Batch * Classes}，而不是批次大小 {Batch}：結果小了 {Classes} 倍。請用 reduction: Sum，再除以批次大小（「batchmean」）。")),
             new(Say($"With reduction Sum, divide by the batch size ({Batch}) to get \"batchmean\".",
                 $"使用 reduction Sum 時，請除以批次大小（{Batch}）以得到「batchmean」。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => KlDivVariant(student, teacher, c), value);
        return MistakeFinder.Verdict(explained,
            Say("MyKlDiv computes KL(p_teacher ‖ q_student) averaged over the batch (\"batchmean\"), the way HintonKDLoss does.",
                "MyKlDiv 和 HintonKDLoss 一樣，計算對批次取平均（「batchmean」）的 KL(p_teacher ‖ q_student)。"),
            Say($"MyKlDiv gave {value.item<double>():G6}, but KL(p_teacher ‖ q_student) averaged over the batch is {KlDivVariant(student, teacher, new int[4]).item<double>():G6}. ",
                $"MyKlDiv 得到 {value.item<double>():G6}，但對批次取平均的 KL(p_teacher ‖ q_student) 是 {KlDivVariant(student, teacher, new int[4]).item<double>():G6}。") +
            Say("Call kl_div(log_softmax(studentLogits, 1), log_softmax(teacherLogits, 1), reduction: Sum, log_target: true) and divide by the batch size.",
                "請呼叫 kl_div(log_softmax(studentLogits, 1), log_softmax(teacherLogits, 1), reduction: Sum, log_target: true)，再除以批次大小。"));
    }

    /// <summary>
    /// Checks <c>myReverseKl(studentLogits, teacherLogits)</c> = KL(q_student ‖ p_teacher) averaged over the batch, at
    /// T = 1: the mode-seeking direction that MiniLLM uses (<see cref="Losses.ReverseKLLoss"/>).
    /// </summary>
    public static CheckResult CheckReverseKl(Func<Tensor, Tensor, Tensor> myReverseKl)
    {
        ArgumentNullException.ThrowIfNull(myReverseKl);
        using var scope = NewDisposeScope();
        var (student, teacher) = (RandomLogits(5), RandomLogits(6));
        var (value, failure) = MistakeFinder.Call(() => myReverseKl(student.clone(), teacher.clone()), "MyReverseKl");
        if (failure is not null) return failure;
        if (MistakeFinder.ExpectScalar(value!, Batch, "MyReverseKl") is { } shape) return shape;

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right, new(Say("That is the forward KL(p_teacher ‖ q_student). The reverse KL puts the student first: Σ q (log q − log p), weighted by the student's own probabilities.",
                "那是正向 KL(p_teacher ‖ q_student)。反向 KL 把學生放在前面：Σ q (log q − log p)，以學生自己的機率加權。"))],
            [Choice.Right, new(Say("The sign is flipped: a KL divergence is never negative.", "正負號反了：KL 散度永遠不會是負的。"))],
            [Choice.Right,
             new(Say($"You averaged over all B × C entries (\"mean\"); sum over the classes and average over the batch only (\"batchmean\").",
                 $"你對全部 B × C 個元素取了平均（「mean」）；請對類別加總，只對批次取平均（「batchmean」）。")),
             new(Say($"You summed over the batch; divide by the batch size ({Batch}).", $"你對批次加總了；請除以批次大小（{Batch}）。"))],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => ReverseVariant(student, teacher, c), value!);
        return MistakeFinder.Verdict(explained,
            Say("MyReverseKl computes KL(q_student ‖ p_teacher) averaged over the batch, as ReverseKLLoss does.",
                "MyReverseKl 和 ReverseKLLoss 一樣，計算對批次取平均的 KL(q_student ‖ p_teacher)。"),
            Say($"MyReverseKl gave {value!.item<double>():G6}, but KL(q_student ‖ p_teacher) averaged over the batch is {ReverseVariant(student, teacher, new int[3]).item<double>():G6}. ",
                $"MyReverseKl 得到 {value!.item<double>():G6}，但對批次取平均的 KL(q_student ‖ p_teacher) 是 {ReverseVariant(student, teacher, new int[3]).item<double>():G6}。") +
            Say("Compute log q = log_softmax(studentLogits, 1) and log p = log_softmax(teacherLogits, 1), then Σ q (log q − log p) per row, averaged over the rows.",
                "請計算 log q = log_softmax(studentLogits, 1) 與 log p = log_softmax(teacherLogits, 1)，再對每一列計算 Σ q (log q − log p)，並對各列取平均。"));
    }

    /// <summary>
    /// Checks exercise 4's prediction of where the reverse-KL fit of one Gaussian to the two-peaked target ends when it
    /// starts at μ = −0.5: <c>"left"</c>, <c>"right"</c> or <c>"both"</c> (in the zh-TW edition also 左, 右 or 兩者). An
    /// empty prediction is "not attempted yet" and anything else is rejected, both without running the fit; a valid one
    /// runs <paramref name="fitFromLeft"/> (the notebook's fit, so the verdict is about the run the learner sees) and
    /// compares: a fit with |μ| &lt; 0.5 covers both peaks, otherwise the sign of μ names the peak.
    /// </summary>
    public static CheckResult CheckPeakPrediction(string? myPrediction, Func<(double Mu, double Sigma)> fitFromLeft)
    {
        ArgumentNullException.ThrowIfNull(fitFromLeft);
        string answer = (myPrediction ?? "").Trim();
        if (answer.Length == 0)
            return LearnerCode.NotAttempted(Say(
                "write \"left\", \"right\" or \"both\" between the quotes, then run this cell again; it runs the fit only then.",
                "在引號之間寫下 \"left\"、\"right\" 或 \"both\"（左、右或兩者），然後再執行一次這個儲存格；到那時它才會執行擬合。"));
        string? predicted = answer.ToLowerInvariant() switch
        {
            "left" or "左" => "left",
            "right" or "右" => "right",
            "both" or "兩者" => "both",
            _ => null,
        };
        if (predicted is null)
            return LearnerCode.Fail(Say($"\"{answer}\" is not one of \"left\", \"right\" or \"both\".",
                $"「{answer}」不是 \"left\"、\"right\" 或 \"both\" 之一。"));
        var (mu, sigma) = fitFromLeft();
        string outcome = Math.Abs(mu) < 0.5 ? "both" : mu < 0 ? "left" : "right";
        string Peak(string which) => which switch
        {
            "left" => Say("the left peak", "左邊的峰"),
            "right" => Say("the right peak", "右邊的峰"),
            _ => Say("both peaks", "兩個峰"),
        };
        string fit = Say($"the reverse-KL fit from μ = −0.5 ended at μ = {mu:F2}, σ = {sigma:F2}, on {Peak(outcome)}.",
            $"從 μ = −0.5 出發的反向 KL 擬合停在 μ = {mu:F2}、σ = {sigma:F2}，也就是{Peak(outcome)}。");
        string why = outcome == "left"
            ? Say(" Reverse KL has one minimum per peak, and gradient descent falls into the one on the side where it starts.",
                "反向 KL 每個峰各有一個極小值，梯度下降會落入它出發那一側的極小值。")
            : "";
        return predicted == outcome
            ? LearnerCode.Pass(fit + why)
            : LearnerCode.Fail(Say($"you predicted {Peak(predicted)}, but {fit}", $"你預測的是{Peak(predicted)}，但{fit}") + why);
    }

    static Tensor RandomProbabilities(ulong seed)
    {
        using var generator = new Generator(seed);
        return F.softmax(randn(Batch, Classes, dtype: ScalarType.Float64, generator: generator).mul(1.5), 1);
    }

    static Tensor RandomLogits(ulong seed)
    {
        using var generator = new Generator(seed);
        return randn(Batch, Classes, dtype: ScalarType.Float64, generator: generator).mul(2);
    }

    /// <summary>Reduces per-entry values [B, C]: 0 batchmean, 1 mean over all entries, 2 sum.</summary>
    static Tensor Reduce(Tensor entries, int reduction) => reduction switch
    {
        0 => entries.sum().div(entries.shape[0]),
        1 => entries.mean(),
        _ => entries.sum(),
    };

    // choices: swapped, cross entropy, sign, reduction, log base
    static Tensor KlVariant(Tensor p, Tensor q, int[] c)
    {
        var (a, b) = c[0] == 0 ? (p, q) : (q, p);
        var entries = c[1] == 0 ? xlogy(a, a).sub(xlogy(a, b)) : xlogy(a, b).neg();
        if (c[4] == 1) entries = entries.div(Math.Log(2));
        if (c[2] == 1) entries = entries.neg();
        return Reduce(entries, c[3]);
    }

    // choices: swapped, input form, target form, reduction
    static Tensor KlDivVariant(Tensor studentLogits, Tensor teacherLogits, int[] c)
    {
        var (inputLogits, targetLogits) = c[0] == 0 ? (studentLogits, teacherLogits) : (teacherLogits, studentLogits);
        var input = c[1] switch
        {
            0 => F.log_softmax(inputLogits, 1),
            1 => inputLogits,
            _ => F.softmax(inputLogits, 1),
        };
        // Right: log p with log_target true (p with log_target false gives the same). Mistake: p with log_target true.
        var logTarget = F.log_softmax(targetLogits, 1);
        var entries = F.kl_div(input, c[2] == 0 ? logTarget : logTarget.exp(), reduction: nn.Reduction.None, log_target: true);
        return Reduce(entries, c[3]);
    }

    // choices: direction, sign, reduction
    static Tensor ReverseVariant(Tensor studentLogits, Tensor teacherLogits, int[] c)
    {
        var (first, second) = c[0] == 0 ? (studentLogits, teacherLogits) : (teacherLogits, studentLogits);
        var logA = F.log_softmax(first, 1);
        var entries = logA.exp().mul(logA.sub(F.log_softmax(second, 1)));
        if (c[1] == 1) entries = entries.neg();
        return Reduce(entries, c[2]);
    }
}

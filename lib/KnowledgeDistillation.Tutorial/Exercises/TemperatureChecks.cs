using KnowledgeDistillation.Losses;
using static KnowledgeDistillation.Exercises.LearnerCode;
using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>Self-checks for the exercises of notebook 02 (temperature): softmax at temperature T and Hinton's soft loss.</summary>
public static class TemperatureChecks
{
    /// <summary>
    /// Notebook 02: softmax with temperature (溫度). Checks <c>Tensor MySoftmaxWithTemperature(Tensor logits, double T)</c>,
    /// which should return <c>softmax(logits / T)</c> over the last dimension (as <see cref="SoftTargets.Probabilities"/>),
    /// at T = 4, 0.5 and 1, and stay finite for large logits.
    /// </summary>
    public static CheckResult CheckSoftmaxWithTemperature(Func<Tensor, double, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        var logits = Logits(5, 3, 10);
        foreach (var T in new[] { 4.0, 0.5, 1.0 })
        {
            var x = logits.clone();
            if (Run(Say("Your softmax", "你的 softmax"), () => mine(x, T), out var r) is { } failed)
                return failed.Message.Contains("must match the size", StringComparison.Ordinal)
                    ? Fail(failed.Message[NotYet.Length..] + Say(" A sum over the last dimension without keepdim: true drops the class dimension, so it no longer broadcasts against the logits.",
                        " 對最後一個維度加總時若沒有 keepdim: true，類別維度會被去掉，於是無法再與邏輯值廣播。"))
                    : failed;
            if (!Unchanged(x, logits))
                return Fail(Say("your function changed its input logits in place (an operation ending in _, such as div_); compute a new tensor, the caller still needs the logits.",
                    "你的函式就地（in place）修改了輸入的邏輯值（名稱以 _ 結尾的運算，例如 div_）；請計算一個新的張量，呼叫端還需要這些邏輯值。"));
            var z = F64(logits);
            var expected = F.softmax(z.div(T), -1);
            if (!r.shape.SequenceEqual(logits.shape))
                return Fail(Say($"the result has shape {Shape(r)}; softmax keeps the logits' shape {Shape(logits)}, one probability per class",
                    $"結果的形狀是 {Shape(r)}；softmax 保持邏輯值的形狀 {Shape(logits)}，每個類別一個機率") +
                    (r.numel() < logits.numel() ? Say(" (a sum or max without keepdim: true drops a dimension).",
                        "（沒有 keepdim: true 的 sum 或 max 會去掉一個維度）。") : Say(".", "。")));
            if (Close(r, expected)) continue;
            if (HasNonFinite(r))
                return Fail(Say($"at T = {T} the result contains NaN or infinity for ordinary logits: {Row(r[0])}.",
                    $"在 T = {T} 時，一般的邏輯值就讓結果含有 NaN 或無限大：{Row(r[0])}。"));
            if (Close(r, F.log_softmax(z.div(T), -1)))
                return Fail(Say("these are log-probabilities (log_softmax); a soft label is a probability distribution: use softmax.",
                    "這些是對數機率（log_softmax）；軟標籤是一個機率分布：請用 softmax。"));
            if (T != 1 && Close(r, F.softmax(z, -1)))
                return Fail(Say($"at T = {T} this is the ordinary softmax: divide the logits by T before the softmax, softmax(logits / T).",
                    $"在 T = {T} 時這是一般的 softmax：請在 softmax 之前把邏輯值除以 T，softmax(logits / T)。"));
            if (T != 1 && Close(r, F.softmax(z.mul(T), -1)))
                return Fail(Say($"at T = {T} this is softmax(logits · T): divide the logits by T, do not multiply.",
                    $"在 T = {T} 時這是 softmax(logits · T)：請把邏輯值除以 T，而不是乘以 T。"));
            if (Close(r, F.softmax(z.div(T), 0)))
                return Fail(Say("you normalised over dimension 0, the batch: normalise over the classes, the last dimension (−1).",
                    "你對維度 0（批次）做了正規化：請對類別，也就是最後一個維度（−1），做正規化。"));
            if (T != 1 && Close(r, F.softmax(z, -1).div(T)))
                return Fail(Say($"at T = {T} you divided the probabilities by T after the softmax: divide the logits before it.",
                    $"在 T = {T} 時你在 softmax 之後才把機率除以 T：請在 softmax 之前就把邏輯值除以 T。"));
            var rowSums = F64(r).sum(-1);
            if (!rowSums.allclose(ones_like(rowSums), 1e-4, 1e-4))
                return Fail(Say($"at T = {T} the rows do not sum to 1 (they sum to {Row(rowSums)}): divide exp(z / T) by its sum over the last dimension, with keepdim: true so that it broadcasts.",
                    $"在 T = {T} 時各列的總和不是 1（而是 {Row(rowSums)}）：請把 exp(z / T) 除以它對最後一個維度的總和，並加上 keepdim: true 以便廣播。"));
            return Fail(Say($"at T = {T} the values differ from softmax(logits / T) by up to {MaxDiff(r, expected):G3}; first row: yours {Row(r[0])}, expected {Row(expected[0])}.",
                $"在 T = {T} 時數值與 softmax(logits / T) 相差最多 {MaxDiff(r, expected):G3}；第一列：你的是 {Row(r[0])}，預期為 {Row(expected[0])}。"));
        }

        // Large logits: exp(z / T) overflows float32 above z / T ≈ 88.7.
        var large = tensor(new float[,] { { 100f, 90f, 0f, -20f }, { 60f, 61f, 59f, 0f } });
        if (Run(Say("Your softmax", "你的 softmax"), () => mine(large, 0.5), out var big) is { } bigFailed) return bigFailed;
        var bigExpected = F.softmax(F64(large).div(0.5), -1);
        if (HasNonFinite(big))
            return Fail(Say("right for ordinary logits, but NaN or infinity for large ones (logit 100 at T = 0.5 gives exp(200), beyond float32's largest value, about exp(88.7)). ",
                "對一般的邏輯值結果正確，但對大的邏輯值會得到 NaN 或無限大（邏輯值 100 在 T = 0.5 時得到 exp(200)，超過 float32 的最大值，約 exp(88.7)）。") +
                Say("Subtract each row's maximum before exp (softmax does not change when every logit moves by the same constant), or call softmax.",
                    "請在 exp 之前減去每一列的最大值（每個邏輯值都加減同一個常數時，softmax 不變），或直接呼叫 softmax。"));
        if (!Close(big, bigExpected))
            return Fail(Say($"right for ordinary logits, but for large logits at T = 0.5 the values differ by up to {MaxDiff(big, bigExpected):G3}.",
                $"對一般的邏輯值結果正確，但對大的邏輯值在 T = 0.5 時，數值相差最多 {MaxDiff(big, bigExpected):G3}。"));
        return Pass(Say("softmax(logits / T) over the last dimension at T = 0.5, 1 and 4, and stable for large logits.",
            "在 T = 0.5、1 與 4 時對最後一個維度計算 softmax(logits / T)，而且對大的邏輯值也穩定。"));
    }

    /// <summary>
    /// Notebook 02: the distillation loss (蒸餾損失). Checks <c>Tensor MySoftLoss(Tensor student, Tensor teacher, double T)</c>,
    /// which should return <c>T² · KL(p_T ‖ q_T)</c> averaged over the batch ("batchmean"), with <c>p_T = softmax(teacher / T)</c>
    /// and <c>q_T = softmax(student / T)</c>, a gradient that reaches the student's logits and none that reaches the
    /// teacher's (as <see cref="HintonKDLoss.SoftLoss"/>).
    /// </summary>
    public static CheckResult CheckSoftLoss(Func<Tensor, Tensor, double, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        const int batch = 3, classes = 10; // batch ≠ T² for the Ts below, so that each mistake has its own value
        var studentValues = Logits(21, batch, classes);
        var teacherValues = Logits(22, batch, classes, scale: 4.0);
        foreach (var T in new[] { 2.0, 5.0 })
        {
            var student = studentValues.clone().requires_grad_(true);
            var teacher = teacherValues.clone().requires_grad_(true);
            if (Run(Say("Your loss", "你的損失"), () => mine(student, teacher, T), out var r) is { } failed) return failed;
            if (r.numel() != 1)
                return Fail(Say($"the loss has shape {Shape(r)}; it must be a single number: sum over the classes, then average over the batch (divide by the batch size, {batch})",
                    $"損失的形狀是 {Shape(r)}；它必須是單一數值：先對類別加總，再對批次取平均（除以批次大小 {batch}）") +
                    (r.shape.SequenceEqual(new long[] { batch }) ? Say(" — you return one loss per example.", "——你對每個範例各傳回一個損失。") : Say(".", "。")));
            if (HasNonFinite(r))
                return Fail(Say($"the loss is {F64(r).item<double>()} at T = {T}; compute log-probabilities with log_softmax rather than log(softmax(…)).",
                    $"在 T = {T} 時損失是 {F64(r).item<double>()}；請用 log_softmax 計算對數機率，而不是 log(softmax(…))。"));

            var z = F64(studentValues);
            var v = F64(teacherValues);
            double KL(Tensor target, Tensor model) => // batchmean KL(softmax(target) ‖ softmax(model)) from pre-divided logits
                KLDivergence.BatchMean(F.log_softmax(model, -1), F.log_softmax(target, -1)).item<double>();
            double kl = KL(v.div(T), z.div(T)), expected = T * T * kl;
            double value = F64(r).reshape(1)[0].item<double>();
            if (!Near(value, expected))
            {
                double entropy = SoftTargets.Entropy(F.softmax(v.div(T), -1)).mean().item<double>();
                var diagnoses = new (double Value, string Message)[]
                {
                    (T * kl, Say("you multiplied by T; Hinton's factor is T², so that the soft gradients keep their size as T changes.",
                        "你乘的是 T；Hinton 的因子是 T²，這樣軟目標的梯度大小才不會隨 T 改變。")),
                    (kl, Say("you forgot the T² factor: multiply KL(p_T ‖ q_T) by T * T.", "你忘了 T² 因子：請把 KL(p_T ‖ q_T) 乘以 T * T。")),
                    (expected * batch, Say($"you summed over the batch; average instead (\"batchmean\": divide the sum by the batch size, {batch}).",
                        $"你對批次加總了；請改為取平均（「batchmean」：把總和除以批次大小 {batch}）。")),
                    (expected / classes, Say($"you averaged over every element, classes included (reduction \"mean\"), which also divides by the {classes} classes: sum over the classes and divide by the batch size only.",
                        $"你對所有元素取了平均，連類別也包括在內（reduction「mean」），這也會除以 {classes} 個類別：請對類別加總，只除以批次大小。")),
                    (kl * batch, Say("you summed over the batch and forgot the T² factor.", "你對批次加總了，而且忘了 T² 因子。")),
                    (T * T * KL(z.div(T), v.div(T)), Say("you computed KL(q_T ‖ p_T), with student and teacher swapped: the teacher's distribution is the target and comes first, KL(p ‖ q) = Σ p (log p − log q).",
                        "你計算的是 KL(q_T ‖ p_T)，學生與教師對調了：教師的分布是目標，要放在前面，KL(p ‖ q) = Σ p (log p − log q)。")),
                    (T * T * KL(v, z), Say("you did not divide the logits by T before the softmax.", "你沒有在 softmax 之前把邏輯值除以 T。")),
                    (T * T * KL(v, z.div(T)), Say("you divided only the student's logits by T: soften both the teacher's and the student's.",
                        "你只把學生的邏輯值除以 T：教師與學生的都要軟化。")),
                    (T * T * KL(v.div(T), z), Say("you divided only the teacher's logits by T: soften both the teacher's and the student's.",
                        "你只把教師的邏輯值除以 T：教師與學生的都要軟化。")),
                    (T * T * (kl + entropy), Say("this is the cross-entropy form, T²·CE(p_T, q_T) = T²·(KL + H(p_T)). It has the same gradient, but the exercise asks for the KL form, which is 0 when the student matches the teacher.",
                        "這是交叉熵的形式，T²·CE(p_T, q_T) = T²·(KL + H(p_T))。它的梯度相同，但這個練習要的是 KL 形式，它在學生與教師一致時為 0。")),
                };
                foreach (var (candidate, message) in diagnoses)
                    if (Near(value, candidate)) return Fail(message);
                return Fail(Say($"at T = {T} your loss is {value:G6}; expected T²·KL(p_T ‖ q_T) = {expected:G6}.",
                    $"在 T = {T} 時你的損失是 {value:G6}；預期為 T²·KL(p_T ‖ q_T) = {expected:G6}。"));
            }

            if (!r.requires_grad)
                return Fail(Say("the value is right, but it carries no gradient to the student's logits (did you call .detach() or .item(), or build a new tensor?). The student learns through this loss.",
                    "數值是對的，但它沒有把梯度傳到學生的邏輯值（你是否呼叫了 .detach() 或 .item()，或建立了新的張量？）。學生是透過這個損失來學習的。"));
            r.reshape(new long[0]).backward();
            if (teacher.grad is { } tg && tg.abs().max().item<float>() > 0)
                return Fail(Say("the value is right, but gradient flows into the teacher's logits: use teacher.detach(). The teacher is fixed; only the student learns.",
                    "數值是對的，但梯度流進了教師的邏輯值：請用 teacher.detach()。教師是固定的，只有學生在學習。"));
            var expectedGradient = Analysis.TemperatureAnalysis.SoftLossGradient(studentValues, teacherValues, T);
            if (student.grad is null || !Close(student.grad, expectedGradient, 1e-3, 1e-6))
                return Fail(Say($"the value is right at T = {T}, but the gradient with respect to the student's logits is not; build the loss from the student's logits with differentiable operations.",
                    $"在 T = {T} 時數值是對的，但對學生邏輯值的梯度不對；請用可微分的運算從學生的邏輯值建構損失。"));
        }
        return Pass(Say("T²·KL(p_T ‖ q_T), averaged over the batch, at T = 2 and 5; its gradient reaches the student's logits and not the teacher's.",
            "T²·KL(p_T ‖ q_T) 對批次取平均，在 T = 2 與 5 時都對；它的梯度傳到學生的邏輯值，而沒有傳到教師的。"));
    }

    static bool Near(double a, double b) => Math.Abs(a - b) <= Atol + 1e-4 * Math.Abs(b);
}

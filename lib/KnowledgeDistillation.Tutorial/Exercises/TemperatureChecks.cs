using KnowledgeDistillation.Losses;
using static KnowledgeDistillation.Exercises.LearnerCode;
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
            if (Run("Your softmax", () => mine(x, T), out var r) is { } failed)
                return failed.Message.Contains("must match the size", StringComparison.Ordinal)
                    ? Fail(failed.Message["Not yet: ".Length..] + " A sum over the last dimension without keepdim: true drops the class dimension, so it no longer broadcasts against the logits.")
                    : failed;
            if (!Unchanged(x, logits))
                return Fail("your function changed its input logits in place (an operation ending in _, such as div_); compute a new tensor, the caller still needs the logits.");
            var z = F64(logits);
            var expected = F.softmax(z.div(T), -1);
            if (!r.shape.SequenceEqual(logits.shape))
                return Fail($"the result has shape {Shape(r)}; softmax keeps the logits' shape {Shape(logits)}, one probability per class" +
                    (r.numel() < logits.numel() ? " (a sum or max without keepdim: true drops a dimension)." : "."));
            if (Close(r, expected)) continue;
            if (HasNonFinite(r))
                return Fail($"at T = {T} the result contains NaN or infinity for ordinary logits: {Row(r[0])}.");
            if (Close(r, F.log_softmax(z.div(T), -1)))
                return Fail("these are log-probabilities (log_softmax); a soft label is a probability distribution: use softmax.");
            if (T != 1 && Close(r, F.softmax(z, -1)))
                return Fail($"at T = {T} this is the ordinary softmax: divide the logits by T before the softmax, softmax(logits / T).");
            if (T != 1 && Close(r, F.softmax(z.mul(T), -1)))
                return Fail($"at T = {T} this is softmax(logits · T): divide the logits by T, do not multiply.");
            if (Close(r, F.softmax(z.div(T), 0)))
                return Fail("you normalised over dimension 0, the batch: normalise over the classes, the last dimension (−1).");
            if (T != 1 && Close(r, F.softmax(z, -1).div(T)))
                return Fail($"at T = {T} you divided the probabilities by T after the softmax: divide the logits before it.");
            var rowSums = F64(r).sum(-1);
            if (!rowSums.allclose(ones_like(rowSums), 1e-4, 1e-4))
                return Fail($"at T = {T} the rows do not sum to 1 (they sum to {Row(rowSums)}): divide exp(z / T) by its sum over the last dimension, with keepdim: true so that it broadcasts.");
            return Fail($"at T = {T} the values differ from softmax(logits / T) by up to {MaxDiff(r, expected):G3}; first row: yours {Row(r[0])}, expected {Row(expected[0])}.");
        }

        // Large logits: exp(z / T) overflows float32 above z / T ≈ 88.7.
        var large = tensor(new float[,] { { 100f, 90f, 0f, -20f }, { 60f, 61f, 59f, 0f } });
        if (Run("Your softmax", () => mine(large, 0.5), out var big) is { } bigFailed) return bigFailed;
        var bigExpected = F.softmax(F64(large).div(0.5), -1);
        if (HasNonFinite(big))
            return Fail("right for ordinary logits, but NaN or infinity for large ones (logit 100 at T = 0.5 gives exp(200), beyond float32's largest value, about exp(88.7)). " +
                "Subtract each row's maximum before exp (softmax does not change when every logit moves by the same constant), or call softmax.");
        if (!Close(big, bigExpected))
            return Fail($"right for ordinary logits, but for large logits at T = 0.5 the values differ by up to {MaxDiff(big, bigExpected):G3}.");
        return Pass("softmax(logits / T) over the last dimension at T = 0.5, 1 and 4, and stable for large logits.");
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
            if (Run("Your loss", () => mine(student, teacher, T), out var r) is { } failed) return failed;
            if (r.numel() != 1)
                return Fail($"the loss has shape {Shape(r)}; it must be a single number: sum over the classes, then average over the batch (divide by the batch size, {batch})" +
                    (r.shape.SequenceEqual(new long[] { batch }) ? " — you return one loss per example." : "."));
            if (HasNonFinite(r))
                return Fail($"the loss is {F64(r).item<double>()} at T = {T}; compute log-probabilities with log_softmax rather than log(softmax(…)).");

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
                    (T * kl, "you multiplied by T; Hinton's factor is T², so that the soft gradients keep their size as T changes."),
                    (kl, "you forgot the T² factor: multiply KL(p_T ‖ q_T) by T * T."),
                    (expected * batch, $"you summed over the batch; average instead (\"batchmean\": divide the sum by the batch size, {batch})."),
                    (expected / classes, $"you averaged over every element, classes included (reduction \"mean\"), which also divides by the {classes} classes: sum over the classes and divide by the batch size only."),
                    (kl * batch, "you summed over the batch and forgot the T² factor."),
                    (T * T * KL(z.div(T), v.div(T)), "you computed KL(q_T ‖ p_T), with student and teacher swapped: the teacher's distribution is the target and comes first, KL(p ‖ q) = Σ p (log p − log q)."),
                    (T * T * KL(v, z), "you did not divide the logits by T before the softmax."),
                    (T * T * KL(v, z.div(T)), "you divided only the student's logits by T: soften both the teacher's and the student's."),
                    (T * T * KL(v.div(T), z), "you divided only the teacher's logits by T: soften both the teacher's and the student's."),
                    (T * T * (kl + entropy), "this is the cross-entropy form, T²·CE(p_T, q_T) = T²·(KL + H(p_T)). It has the same gradient, but the exercise asks for the KL form, which is 0 when the student matches the teacher."),
                };
                foreach (var (candidate, message) in diagnoses)
                    if (Near(value, candidate)) return Fail(message);
                return Fail($"at T = {T} your loss is {value:G6}; expected T²·KL(p_T ‖ q_T) = {expected:G6}.");
            }

            if (!r.requires_grad)
                return Fail("the value is right, but it carries no gradient to the student's logits (did you call .detach() or .item(), or build a new tensor?). The student learns through this loss.");
            r.reshape(new long[0]).backward();
            if (teacher.grad is { } tg && tg.abs().max().item<float>() > 0)
                return Fail("the value is right, but gradient flows into the teacher's logits: use teacher.detach(). The teacher is fixed; only the student learns.");
            var expectedGradient = Analysis.TemperatureAnalysis.SoftLossGradient(studentValues, teacherValues, T);
            if (student.grad is null || !Close(student.grad, expectedGradient, 1e-3, 1e-6))
                return Fail($"the value is right at T = {T}, but the gradient with respect to the student's logits is not; build the loss from the student's logits with differentiable operations.");
        }
        return Pass("T²·KL(p_T ‖ q_T), averaged over the batch, at T = 2 and 5; its gradient reaches the student's logits and not the teacher's.");
    }

    static bool Near(double a, double b) => Math.Abs(a - b) <= Atol + 1e-4 * Math.Abs(b);
}

using KnowledgeDistillation.Models;
using TorchSharp;
using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 04 (response-based distillation): the learner's Hinton loss and the
/// learner's way of getting soft labels from a frozen teacher. Each names the mistake it finds: a missing T², α and
/// 1 − α swapped, the hard term at temperature T, "mean" instead of "batchmean", a teacher left in training mode, …
/// </summary>
public static class DistillationChecks
{
    const int Batch = 6, Classes = 5;

    /// <summary>
    /// Checks <c>myHintonLoss(studentLogits, teacherLogits, y, T, alpha)</c> =
    /// <c>α · T² · KL(softmax(v/T) ‖ softmax(z/T)) + (1 − α) · CE(z, y)</c>, both terms averaged over the batch,
    /// with z the student's and v the teacher's logits. The cross-entropy form of the soft term (which differs by a
    /// constant) is accepted. It also checks that no gradient reaches the teacher and that the student gets one.
    /// </summary>
    public static CheckResult CheckHintonLoss(Func<Tensor, Tensor, Tensor, double, double, Tensor> myHintonLoss)
    {
        ArgumentNullException.ThrowIfNull(myHintonLoss);
        using var scope = NewDisposeScope();
        const double T = 4.0, alpha = 0.7;
        var (z, v, y) = Inputs(11);
        var (value, failure) = MistakeFinder.Call(() => myHintonLoss(z.clone(), v.clone(), y.clone(), T, alpha), "MyHintonLoss");
        if (failure is not null) return failure;
        if (MistakeFinder.ExpectScalar(value!, Batch, "MyHintonLoss") is { } shape) return shape;

        IReadOnlyList<IReadOnlyList<Choice>> dimensions =
        [
            [Choice.Right,
             new(Say("You multiplied the distillation loss by T instead of T². Its gradients shrink like 1/T², so T² keeps them the same size whatever T is (notebook 02).",
                 "你把蒸餾損失乘以 T，而不是 T²。它的梯度會隨 1/T² 縮小，所以乘上 T² 才能讓梯度大小不隨 T 改變（筆記本 02）。")),
             new(Say($"You forgot the T² factor on the distillation loss: at T = {T} its gradients come out {T * T} times too small next to the student loss (notebook 02).",
                 $"你忘了蒸餾損失上的 T² 因子：在 T = {T} 時，它的梯度相對於學生損失小了 {T * T} 倍（筆記本 02）。"))],
            [Choice.Right, new(Say("α and 1 − α are swapped: α weighs the distillation loss (soft targets), 1 − α the student loss (hard labels).",
                "α 與 1 − α 對調了：α 是蒸餾損失（軟目標）的權重，1 − α 是學生損失（硬標籤）的權重。"))],
            [Choice.Right, new(Say("The student loss (hard labels) must use the student's ordinary logits, at T = 1, not logits / T.",
                "學生損失（硬標籤）必須使用學生的一般邏輯值，也就是 T = 1，而不是 logits / T。"))],
            [Choice.Right, new(Say("Soften the teacher too: its probabilities are softmax(teacherLogits / T).",
                "教師也要軟化：它的機率是 softmax(teacherLogits / T)。"))],
            [Choice.Right, new(Say("Soften the student too: its log-probabilities are log_softmax(studentLogits / T).",
                "學生也要軟化：它的對數機率是 log_softmax(studentLogits / T)。"))],
            [Choice.Right, new(Say("The KL divergence is reversed: Hinton KD uses KL(p_teacher ‖ q_student) = Σ p (log p − log q), with the teacher's distribution first.",
                "KL 散度的方向反了：Hinton 知識蒸餾使用 KL(p_teacher ‖ q_student) = Σ p (log p − log q)，教師的分布在前。"))],
            [Choice.Right,
             new(Say($"The distillation loss was averaged over all B × C entries (\"mean\", kl_div's default), which also divides by the {Classes} classes. Sum over the classes and average over the batch (\"batchmean\"; notebook 03).",
                 $"蒸餾損失對全部 B × C 個元素取了平均（「mean」，kl_div 的預設值），這也會除以 {Classes} 個類別。請對類別加總，再對批次取平均（「batchmean」；筆記本 03）。")),
             new(Say("The distillation loss was summed over the batch; divide it by the batch size (\"batchmean\").",
                 "蒸餾損失對批次加總了；請把它除以批次大小（「batchmean」）。"))],
            [Choice.Right,
             new(Say("You used the cross-entropy form of the soft term, −Σ p log q. It differs from the KL form by α·T²·H(p), which does not depend on the student, so the gradients are the same (notebook 03); HintonKDLoss(form: SoftTargetForm.CrossEntropy) computes it.",
                 "你用了軟目標項的交叉熵形式 −Σ p log q。它與 KL 形式相差 α·T²·H(p)，這一項與學生無關，所以梯度相同（筆記本 03）；HintonKDLoss(form: SoftTargetForm.CrossEntropy) 計算的就是它。"), Acceptable: true)],
        ];
        var explained = MistakeFinder.Explain(dimensions, c => HintonVariant(z, v, y, T, alpha, c), value!);
        var verdict = MistakeFinder.Verdict(explained, Say("MyHintonLoss computes α·T²·KL(p_T ‖ q_T) + (1 − α)·CE(z, y).",
            "MyHintonLoss 計算的是 α·T²·KL(p_T ‖ q_T) + (1 − α)·CE(z, y)。"),
            Say($"MyHintonLoss gave {value!.item<double>():G6} for T = {T}, α = {alpha}, but the Hinton loss is {HintonVariant(z, v, y, T, alpha, new int[8]).item<double>():G6}. ",
                $"在 T = {T}、α = {alpha} 時 MyHintonLoss 得到 {value!.item<double>():G6}，但 Hinton 損失是 {HintonVariant(z, v, y, T, alpha, new int[8]).item<double>():G6}。") +
            Say("Build it from the pieces: the distillation loss T²·KL(softmax(v/T) ‖ softmax(z/T)) averaged over the batch, and the student loss cross_entropy(z, y).",
                "請由各部分組成：對批次取平均的蒸餾損失 T²·KL(softmax(v/T) ‖ softmax(z/T))，以及學生損失 cross_entropy(z, y)。"));
        if (!verdict.Passed) return verdict;

        // Other settings, so that T and alpha are really used (not fixed numbers).
        const double T2 = 2.5, alpha2 = 0.4;
        var (z2, v2, y2) = Inputs(12);
        var acceptableForm = explained!.Count > 7 && explained[7].Acceptable && explained[7].Mistake is not null ? 1 : 0;
        var (second, secondFailure) = MistakeFinder.Call(() => myHintonLoss(z2.clone(), v2.clone(), y2.clone(), T2, alpha2), "MyHintonLoss");
        if (secondFailure is not null) return secondFailure;
        if (!MistakeFinder.Close(second!, HintonVariant(z2, v2, y2, T2, alpha2, [0, 0, 0, 0, 0, 0, 0, acceptableForm])))
            return LearnerCode.Fail(Say($"right for T = {T}, α = {alpha}, but not for T = {T2}, α = {alpha2}. Use the parameters T and alpha, not fixed numbers.",
                $"在 T = {T}、α = {alpha} 時是對的，但在 T = {T2}、α = {alpha2} 時不對。請使用參數 T 與 alpha，而不是固定的數字。"));

        // Gradients: the student's logits get one, the teacher's must not (the teacher is frozen).
        var flow = MistakeFinder.GradientFlow((student, teacher) => myHintonLoss(student, teacher, y.clone(), T, alpha), z, v, "MyHintonLoss", Say("logits", "邏輯值"),
            Say("the value is right but carries no gradient to the student's logits. Do not detach them or go through .item() / arrays; keep the computation in tensors.",
                "數值是對的，但沒有把梯度傳到學生的邏輯值。不要 detach 它們，也不要經過 .item() 或陣列；請讓計算都在張量上進行。"),
            Say("the value is right, but gradients flow into the teacher's logits. Detach them (teacherLogits.detach()): the teacher is frozen, and in training its logits come from a forward pass under no_grad.",
                "數值是對的，但梯度流進了教師的邏輯值。請 detach 它們（teacherLogits.detach()）：教師是凍結的，訓練時它的邏輯值來自 no_grad 下的前向傳播。"));
        if (flow is not null) return flow;
        return new CheckResult(true, verdict.Message + Say(" The student gets gradients and the teacher none.", "學生得到梯度，教師則沒有。"));
    }

    /// <summary>
    /// Checks <c>mySoftLabels(teacher, X, T)</c>, which should return the teacher's soft labels softmax(teacher(X) / T)
    /// as constants: the teacher in evaluation mode (no dropout) and the forward pass under <c>no_grad</c>. The check
    /// hands over a small MLP teacher with dropout, left in training mode as it would be right after training.
    /// </summary>
    public static CheckResult CheckTeacherSoftLabels(Func<nn.Module<Tensor, Tensor>, Tensor, double, Tensor> mySoftLabels)
    {
        ArgumentNullException.ThrowIfNull(mySoftLabels);
        using var scope = NewDisposeScope();
        const double T = 3.0;
        var teacher = DropoutTeacher();
        using var generator = new Generator(21);
        var X = randn(8, 1, 28, 28, generator: generator);
        Tensor logits;
        using (no_grad())
        {
            teacher.eval();
            logits = teacher.call(X);
        }
        teacher.train(); // as it is right after training
        var (value, failure) = MistakeFinder.Call(() => mySoftLabels(teacher, X.clone(), T), "MySoftLabels");
        if (failure is not null) return failure;
        if (!value!.shape.SequenceEqual([8L, 10L]))
            return LearnerCode.Fail(Say($"MySoftLabels returned shape [{string.Join(", ", value.shape)}]; expected [8, 10], one distribution over the 10 classes per image.",
                $"MySoftLabels 傳回的形狀是 [{string.Join(", ", value.shape)}]；預期為 [8, 10]，每張影像一個 10 個類別上的分布。"));
        bool stillTraining = teacher.training;
        if (value.requires_grad)
            return LearnerCode.Fail(Say("the soft labels carry gradients, so every training step would also backpropagate into the teacher and keep its graph in memory. Run the teacher under no_grad: `using (torch.no_grad()) { ... }`.",
                "軟標籤帶有梯度，所以每個訓練步驟也會反向傳播到教師，並把它的計算圖留在記憶體中。請在 no_grad 下執行教師：`using (torch.no_grad()) { ... }`。"));

        if (LearnerCode.Close(value, F.softmax(logits.div(T), 1)))
            return LearnerCode.Pass(Say("the teacher ran in evaluation mode (no dropout) under no_grad, and its logits were divided by T before the softmax.",
                "教師在 no_grad 下以評估模式（沒有 dropout）執行，而且它的邏輯值在 softmax 之前除以了 T。"));
        if (stillTraining)
            return LearnerCode.Fail(Say("the teacher is still in training mode, so dropout switches random units off and its soft labels change from call to call. Call teacher.eval() first.",
                "教師還在訓練模式，所以 dropout 會隨機關閉一些單元，它的軟標籤每次呼叫都不一樣。請先呼叫 teacher.eval()。"));
        (Tensor Variant, string Message)[] mistakes =
        [
            (F.softmax(logits, 1), Say($"You forgot the temperature: divide the logits by T = {T} before the softmax.",
                $"你忘了溫度：請在 softmax 之前把邏輯值除以 T = {T}。")),
            (F.softmax(logits.mul(T), 1), Say("You multiplied the logits by T; divide them by T (a higher T gives softer labels).",
                "你把邏輯值乘以 T；請改為除以 T（T 越高，標籤越軟）。")),
            (F.log_softmax(logits.div(T), 1), Say("You returned log-probabilities; the soft labels are probabilities, softmax(logits / T).",
                "你傳回的是對數機率；軟標籤是機率 softmax(logits / T)。")),
            (logits.div(T), Say("You returned logits / T; apply the softmax to get probabilities.", "你傳回的是 logits / T；請套用 softmax 得到機率。")),
            (logits, Say("You returned the raw logits; the soft labels are softmax(logits / T).", "你傳回的是原始邏輯值；軟標籤是 softmax(logits / T)。")),
        ];
        foreach (var (variant, message) in mistakes)
            if (LearnerCode.Close(value, variant)) return LearnerCode.Fail(message);
        return LearnerCode.Fail(Say("the soft labels differ from softmax(teacher(X) / T) computed in evaluation mode. Call teacher.eval(), run it under no_grad, divide the logits by T, then apply softmax over the classes (dimension 1).",
            "軟標籤與在評估模式下計算的 softmax(teacher(X) / T) 不同。請呼叫 teacher.eval()、在 no_grad 下執行它、把邏輯值除以 T，然後對類別（維度 1）套用 softmax。"));
    }

    static (Tensor Student, Tensor Teacher, Tensor Labels) Inputs(ulong seed)
    {
        using var generator = new Generator(seed);
        var z = randn(Batch, Classes, dtype: ScalarType.Float64, generator: generator).mul(2);
        var v = randn(Batch, Classes, dtype: ScalarType.Float64, generator: generator).mul(3);
        var y = randint(0, Classes, [Batch], dtype: ScalarType.Int64, generator: generator);
        return (z, v, y);
    }

    // choices: T power, alpha swap, hard at T, teacher soft, student soft, direction, reduction, form
    static Tensor HintonVariant(Tensor z, Tensor v, Tensor y, double T, double alpha, int[] c)
    {
        double factor = c[0] switch { 0 => T * T, 1 => T, _ => 1 };
        double a = c[1] == 0 ? alpha : 1 - alpha;
        var logQ = F.log_softmax(c[4] == 0 ? z.div(T) : z, 1);
        var logP = F.log_softmax(c[3] == 0 ? v.div(T) : v, 1);
        var (logFirst, logSecond) = c[5] == 0 ? (logP, logQ) : (logQ, logP);
        var first = logFirst.exp();
        var entries = c[7] == 0 ? first.mul(logFirst.sub(logSecond)) : first.mul(logSecond).neg();
        var soft = c[6] switch
        {
            0 => entries.sum().div(z.shape[0]),
            1 => entries.mean(),
            _ => entries.sum(),
        };
        var hard = F.cross_entropy(c[2] == 0 ? z : z.div(T), y);
        return soft.mul(factor * a).add(hard.mul(1 - a));
    }

    /// <summary>A small MLP with dropout whose weights come from a local generator (the global RNG is left alone).</summary>
    static Mlp DropoutTeacher()
    {
        var teacher = new Mlp(784, [64], 10, inputDropout: 0.2, hiddenDropout: 0.5, name: "CheckTeacher");
        using var generator = new Generator(20);
        using (no_grad())
            foreach (var p in teacher.parameters())
                p.copy_(randn(p.shape, generator: generator).mul(0.1));
        return teacher;
    }
}

using KnowledgeDistillation.Analysis;
using KnowledgeDistillation.Losses;
using static KnowledgeDistillation.Exercises.LearnerCode;
using static KnowledgeDistillation.Exercises.Localized;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Exercises;

/// <summary>
/// Self-checks for the exercises of notebook 01 (soft and hard labels). Like every <c>XChecks</c> class of this
/// namespace, each <c>CheckY</c> takes the learner's function, runs it on fixed inputs, compares it with the library's
/// version, and returns a <see cref="CheckResult"/> whose message says what is wrong (wrong shape, rows that do not sum
/// to 1, 0 · log 0, …) or that the answer is right.
/// </summary>
public static class SoftLabelChecks
{
    /// <summary>
    /// Notebook 01: hard labels (硬標籤) as distributions. Checks <c>Tensor MyOneHot(Tensor y, int classes)</c>, which
    /// should return float one-hot rows [N, classes], as <see cref="SoftLabelStats.OneHot"/> does.
    /// </summary>
    public static CheckResult CheckOneHot(Func<Tensor, int, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        const int classes = 10;
        var y = tensor(new long[] { 3, 0, 7, 3, 5 }); // no 8 or 9, so that one_hot(y) without a class count comes out too narrow
        var copy = y.clone();
        if (Run(Say("Your one-hot function", "你的 one-hot 函式"), () => mine(y, classes), out var r) is { } failed) return failed;
        if (!Unchanged(y, copy)) return Fail(Say("your function changed the labels y in place; build a new tensor instead.",
            "你的函式就地（in place）修改了標籤 y；請改為建立一個新的張量。"));
        var expected = SoftLabelStats.OneHot(y, classes);
        if (r.shape.SequenceEqual(new long[] { classes, y.shape[0] }))
            return Fail(Say($"the result is {Shape(r)}, transposed: return one row per label, shape [{y.shape[0]}, {classes}].",
                $"結果是 {Shape(r)}，被轉置了：請讓每個標籤一列，形狀為 [{y.shape[0]}, {classes}]。"));
        if (r.dim() == 2 && r.shape[0] == y.shape[0] && r.shape[1] != classes)
            return Fail(Say($"the result has {r.shape[1]} columns; it needs one per class, {classes}, even for classes that do not occur in y (for example with F.one_hot(y, classes)).",
                $"結果有 {r.shape[1]} 欄；它需要每個類別一欄，共 {classes} 欄，y 中沒有出現的類別也要有（例如用 F.one_hot(y, classes)）。"));
        if (!r.shape.SequenceEqual(expected.shape))
            return Fail(Say($"the result has shape {Shape(r)}; for {y.shape[0]} labels and {classes} classes it should be [{y.shape[0]}, {classes}].",
                $"結果的形狀是 {Shape(r)}；{y.shape[0]} 個標籤與 {classes} 個類別時，它應該是 [{y.shape[0]}, {classes}]。"));
        if (!r.is_floating_point())
            return Fail(Say($"the result has dtype {r.dtype}. A hard label is a probability distribution (1 for the true class, 0 elsewhere), and losses need floats: convert with .to_type(ScalarType.Float32).",
                $"結果的 dtype 是 {r.dtype}。硬標籤是一個機率分布（真實類別為 1，其他為 0），而損失需要浮點數：請用 .to_type(ScalarType.Float32) 轉換。"));
        if (Close(r, expected)) return Pass(Say($"one row per label, {classes} columns, a 1.0 at each label and 0 elsewhere, as floats.",
            $"每個標籤一列、共 {classes} 欄，在標籤的位置為 1.0、其他為 0，而且是浮點數。"));
        var shifted = F.one_hot(y.add(1).remainder(classes), classes);
        var shiftedDown = F.one_hot(y.sub(1).add(classes).remainder(classes), classes);
        if (Close(r, shifted) || Close(r, shiftedDown))
            return Fail(Say("the 1s are one column off: label y goes in column y (labels count from 0).", "那些 1 偏了一欄：標籤 y 要放在第 y 欄（標籤從 0 開始算）。"));
        for (int i = 0; i < y.shape[0]; i++)
            if (!Close(r[i], expected[i]))
                return Fail(Say($"row {i} (label {y[i].item<long>()}) is {Row(r[i])}; expected a 1 in column {y[i].item<long>()} and 0 elsewhere.",
                    $"第 {i} 列（標籤 {y[i].item<long>()}）是 {Row(r[i])}；預期第 {y[i].item<long>()} 欄為 1，其他為 0。"));
        return Fail(Say($"the result differs from the one-hot labels by up to {MaxDiff(r, expected):G3}.",
            $"結果與 one-hot 標籤相差最多 {MaxDiff(r, expected):G3}。"));
    }

    /// <summary>
    /// Notebook 01: entropy. Checks <c>Tensor MyEntropy(Tensor p)</c>, which should return <c>H(p) = −Σ p log p</c> in nats
    /// for each row of p [N, C], shape [N], with <c>0 · log 0 = 0</c> (as <see cref="SoftTargets.Entropy"/>).
    /// </summary>
    public static CheckResult CheckEntropy(Func<Tensor, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        const int classes = 10;
        var p = stack([
            full(classes, 1.0f / classes),                                     // uniform: log 10
            F.one_hot(tensor(3L), classes).to_type(ScalarType.Float32),       // a hard label: 0
            cat([full(2, 0.5f), zeros(classes - 2)]),                          // two classes: log 2
            F.softmax(Logits(7, 1, classes)[0], 0),                           // a soft label
        ]);
        var copy = p.clone();
        if (Run(Say("Your entropy function", "你的熵函式"), () => mine(p), out var r) is { } failed) return failed;
        if (!Unchanged(p, copy)) return Fail(Say("your function changed the probabilities in place (an operation ending in _, such as log_); compute new tensors instead.",
            "你的函式就地（in place）修改了機率（名稱以 _ 結尾的運算，例如 log_）；請改為計算新的張量。"));
        var expected = SoftTargets.Entropy(p.to_type(ScalarType.Float64));
        long n = p.shape[0];
        if (r.numel() == 1)
        {
            double v = F64(r).item<double>();
            string what = Math.Abs(v - expected.sum().item<double>()) < 1e-4 ? Say(" (the sum of all rows' entropies)", "（所有列的熵的總和）")
                : Math.Abs(v - expected.mean().item<double>()) < 1e-4 ? Say(" (the mean over the rows)", "（各列的平均值）") : "";
            return Fail(Say($"you returned a single number{what}; return one entropy per distribution, shape [{n}]: sum over the last dimension only, p.sum(-1).",
                $"你傳回了單一數值{what}；請每個分布傳回一個熵，形狀為 [{n}]：只對最後一個維度加總，p.sum(-1)。"));
        }
        if (r.shape.SequenceEqual(p.shape))
            return Fail(Say($"you returned shape {Shape(r)}, the terms −p·log p; sum them over the classes (the last dimension) to get one entropy per row, shape [{n}].",
                $"你傳回的形狀是 {Shape(r)}，也就是各項 −p·log p；請對類別（最後一個維度）加總，讓每一列得到一個熵，形狀為 [{n}]。"));
        if (!r.shape.SequenceEqual(new[] { n }))
            return Fail(Say($"you returned shape {Shape(r)}; expected [{n}], one entropy per row of p.",
                $"你傳回的形狀是 {Shape(r)}；預期為 [{n}]，p 的每一列一個熵。"));
        if (Close(r, expected)) return Pass(Say($"H(uniform over {classes}) = log {classes} = {Math.Log(classes):F4} nats, H(one-hot) = 0, H(two equal classes) = log 2, and a general soft label all match.",
            $"H({classes} 個類別的均勻分布) = log {classes} = {Math.Log(classes):F4} 奈特、H(one-hot) = 0、H(兩個相等的類別) = log 2，以及一個一般的軟標籤，全都相符。"));
        if (F64(r)[1].isnan().item<bool>())
            return Fail(Say("the one-hot row gives NaN: 0 · log 0 is 0 · (−∞) = NaN in floating point. Entropy takes 0 · log 0 = 0: clamp p before the log, p.clamp_min(1e-12).log(), or replace the zeros' terms with where.",
                "one-hot 那一列得到 NaN：在浮點數中 0 · log 0 是 0 · (−∞) = NaN。熵約定 0 · log 0 = 0：在取 log 之前先限制 p 的下限，p.clamp_min(1e-12).log()，或用 where 取代那些 0 的項。"));
        if (HasNonFinite(r))
            return Fail(Say($"the result contains NaN or infinity: {Row(r)}.", $"結果含有 NaN 或無限大：{Row(r)}。"));
        if (Close(r, expected.neg()))
            return Fail(Say("the sign is wrong: H(p) = −Σ p log p, which is ≥ 0 (log p ≤ 0 for probabilities).",
                "正負號錯了：H(p) = −Σ p log p，其值 ≥ 0（對機率而言 log p ≤ 0）。"));
        if (Close(r, expected.div(Math.Log(2))))
            return Fail(Say("these are bits (log base 2); this tutorial measures entropy in nats, with the natural logarithm, log().",
                "這是位元（以 2 為底的 log）；本教學以奈特（nat）衡量熵，使用自然對數 log()。"));
        if (Close(r, expected.div(Math.Log(10))))
            return Fail(Say("this is log base 10; use the natural logarithm, log(), so that entropies are in nats.",
                "這是以 10 為底的 log；請使用自然對數 log()，讓熵的單位是奈特。"));
        if (Close(r, expected.div(classes)))
            return Fail(Say("the values are 1/10 of the entropy: you averaged over the classes (mean); sum over them instead.",
                "這些值是熵的 1/10：你對類別取了平均（mean）；請改為對類別加總。"));
        string[] rowNames = Chinese ? ["均勻分布", "one-hot", "兩個相等的類別", "軟標籤"] : ["uniform", "one-hot", "two equal classes", "soft label"];
        for (int i = 0; i < n; i++)
            if (!Close(r[i], expected[i]))
                return Fail(Say($"for the {rowNames[i]} row {Row(p[i])} you give {F64(r[i]).item<double>():F4}; expected {expected[i].item<double>():F4} nats.",
                    $"對「{rowNames[i]}」那一列 {Row(p[i])}，你給出 {F64(r[i]).item<double>():F4}；預期為 {expected[i].item<double>():F4} 奈特。"));
        return Fail(Say($"the entropies differ by up to {MaxDiff(r, expected):G3} nats.", $"熵相差最多 {MaxDiff(r, expected):G3} 奈特。"));
    }

    /// <summary>
    /// Notebook 01: the class-similarity matrix. Checks <c>Tensor MyAverageSoftLabels(Tensor p, Tensor y)</c>, which should
    /// return the [C, C] matrix whose row c is the mean of the soft labels p [N, C] of the images with label c (as
    /// <see cref="SoftLabelStats.AverageSoftLabels"/>).
    /// </summary>
    public static CheckResult CheckAverageSoftLabels(Func<Tensor, Tensor, Tensor> mine)
    {
        ArgumentNullException.ThrowIfNull(mine);
        using var scope = NewDisposeScope();
        const int classes = 4;
        // Unequal class sizes (5, 3, 2, 2), so that dividing by the wrong count shows.
        var y = tensor(new long[] { 0, 1, 0, 2, 0, 1, 3, 0, 2, 1, 3, 0 });
        var p = F.softmax(Logits(11, (int)y.shape[0], classes, scale: 2.0), 1);
        var (pCopy, yCopy) = (p.clone(), y.clone());
        if (Run(Say("Your function", "你的函式"), () => mine(p, y), out var r) is { } failed) return failed;
        if (!Unchanged(p, pCopy) || !Unchanged(y, yCopy)) return Fail(Say("your function changed its inputs in place; compute new tensors instead.",
            "你的函式就地（in place）修改了它的輸入；請改為計算新的張量。"));
        var expected = SoftLabelStats.AverageSoftLabels(p, y);
        if (!r.shape.SequenceEqual(expected.shape))
            return Fail(Say($"the result has shape {Shape(r)}; with {classes} classes it should be [{classes}, {classes}]: one row per true class, one column per class of the soft label.",
                $"結果的形狀是 {Shape(r)}；有 {classes} 個類別時應該是 [{classes}, {classes}]：每個真實類別一列，軟標籤的每個類別一欄。"));
        if (Close(r, expected)) return Pass(Say("row c is the average soft label of the images of class c, for classes of 5, 3, 2 and 2 images.",
            "第 c 列是類別 c 的影像的平均軟標籤，各類別分別有 5、3、2、2 張影像。"));
        var counts = bincount(y, minlength: classes).to_type(ScalarType.Float64).unsqueeze(1);
        var sums = expected.mul(counts);
        if (Close(r, expected.t()))
            return Fail(Say("rows and columns are swapped: row c must be the average soft label of the images whose true class is c.",
                "列與欄對調了：第 c 列必須是真實類別為 c 的那些影像的平均軟標籤。"));
        if (Close(r, sums))
            return Fail(Say("each row is a sum, not an average: divide row c by the number of images of class c.",
                "每一列是總和，不是平均值：請把第 c 列除以類別 c 的影像數。"));
        if (Close(r, sums.div(y.shape[0])))
            return Fail(Say($"each row is divided by N = {y.shape[0]}, all the images; divide row c by the number of images of class c instead.",
                $"每一列都除以 N = {y.shape[0]}，也就是全部影像的數量；請改為把第 c 列除以類別 c 的影像數。"));
        if (Close(r, F64(p).mean([0]).unsqueeze(0).expand(classes, classes)))
            return Fail(Say("every row is the average soft label of all the images; average only the images with label c (select them with y.eq(c)).",
                "每一列都是全部影像的平均軟標籤；請只對標籤為 c 的影像取平均（用 y.eq(c) 選出它們）。"));
        if (Close(r, eye(classes, dtype: ScalarType.Float64)))
            return Fail(Say("that is the average hard label, the identity matrix: average the soft labels p, not the one-hot labels.",
                "那是平均硬標籤，也就是單位矩陣：請對軟標籤 p 取平均，而不是對 one-hot 標籤。"));
        var rowSums = F64(r).sum(1);
        if (!rowSums.allclose(ones(classes, dtype: ScalarType.Float64), Rtol, 1e-4))
            return Fail(Say($"the rows should each sum to 1 (an average of distributions is a distribution); yours sum to {Row(rowSums)}.",
                $"每一列的總和應該是 1（分布的平均仍是分布）；你的各列總和為 {Row(rowSums)}。"));
        for (int c = 0; c < classes; c++)
            if (!Close(r[c], expected[c]))
                return Fail(Say($"row {c} is {Row(r[c])}; expected {Row(expected[c])}, the mean of the {counts[c, 0].item<double>():F0} soft labels with y = {c}.",
                    $"第 {c} 列是 {Row(r[c])}；預期為 {Row(expected[c])}，也就是 y = {c} 的 {counts[c, 0].item<double>():F0} 個軟標籤的平均值。"));
        return Fail(Say($"the result differs by up to {MaxDiff(r, expected):G3}.", $"結果相差最多 {MaxDiff(r, expected):G3}。"));
    }
}

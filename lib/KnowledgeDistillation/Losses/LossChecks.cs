using static TorchSharp.torch;

namespace KnowledgeDistillation.Losses;

/// <summary>Input validation shared by the losses. Every rejection is an <see cref="ArgumentException"/> naming the value.</summary>
static class LossChecks
{
    public static void Temperature(double T, string name = "T")
    {
        if (!(T > 0) || double.IsInfinity(T))
            throw new ArgumentOutOfRangeException(name, T, $"The temperature {name} must be a finite number > 0; got {T}.");
    }

    public static void Weight(double alpha, string name = "alpha")
    {
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(name, alpha, $"{name} must be in [0, 1]; got {alpha}.");
    }

    public static void NonNegative(double w, string name)
    {
        if (!(w >= 0) || double.IsInfinity(w))
            throw new ArgumentOutOfRangeException(name, w, $"{name} must be a finite number >= 0; got {w}.");
    }

    /// <summary>Logits must be [batch, classes].</summary>
    public static void Logits(Tensor logits, string name)
    {
        ArgumentNullException.ThrowIfNull(logits, name);
        if (logits.dim() != 2)
            throw new ArgumentException($"{name} must have shape [batch, classes]; got [{string.Join(", ", logits.shape)}].", name);
    }

    /// <summary>Student and teacher logits must agree in batch size and class count.</summary>
    public static void PairedLogits(Tensor student, Tensor teacher)
    {
        Logits(student, "student");
        Logits(teacher, "teacher");
        if (student.shape[1] != teacher.shape[1])
            throw new ArgumentException(
                $"The teacher has {teacher.shape[1]} classes but the student has {student.shape[1]}; distillation needs the same classes.", "teacher");
        if (student.shape[0] != teacher.shape[0])
            throw new ArgumentException(
                $"The student's batch has {student.shape[0]} rows but the teacher's has {teacher.shape[0]}; they must be logits of the same inputs.", "teacher");
    }

    /// <summary>Labels must be int64 [batch] with values in [0, classes).</summary>
    /// <param name="labels">The labels.</param>
    /// <param name="batch">The batch size they must have.</param>
    /// <param name="classes">The number of classes.</param>
    /// <param name="checkRange">Also check the values (this reads the minimum and maximum on the host, a synchronisation
    /// with the device); false where the caller has checked all labels already.</param>
    public static void Labels(Tensor labels, long batch, long classes, bool checkRange = true)
    {
        ArgumentNullException.ThrowIfNull(labels, nameof(labels));
        if (labels.dim() != 1 || labels.shape[0] != batch)
            throw new ArgumentException($"labels must have shape [{batch}]; got [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"labels must be int64 class indices; got {labels.dtype}.", nameof(labels));
        if (batch == 0 || !checkRange) return;
        using var scope = NewDisposeScope();
        long min = labels.min().item<long>(), max = labels.max().item<long>();
        if (min < 0 || max >= classes)
            throw new ArgumentException($"labels must be in [0, {classes - 1}]; found {(min < 0 ? min : max)}.", nameof(labels));
    }

    /// <summary>Two embeddings (or feature maps, flattened per sample) from the same batch.</summary>
    public static void SameBatch(Tensor student, Tensor teacher)
    {
        ArgumentNullException.ThrowIfNull(student, nameof(student));
        ArgumentNullException.ThrowIfNull(teacher, nameof(teacher));
        if (student.dim() < 2 || teacher.dim() < 2)
            throw new ArgumentException($"Features must be [batch, ...]; got student [{string.Join(", ", student.shape)}] and teacher [{string.Join(", ", teacher.shape)}].");
        if (student.shape[0] != teacher.shape[0])
            throw new ArgumentException($"The student's features have batch {student.shape[0]} but the teacher's have {teacher.shape[0]}.", nameof(teacher));
    }

    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}

using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Data;

/// <summary>Which part of a data set.</summary>
public enum Split
{
    /// <summary>The training images (60,000 for Fashion-MNIST).</summary>
    Train,
    /// <summary>The test images (10,000 for Fashion-MNIST).</summary>
    Test,
}

/// <summary>Images and their labels, as tensors on one device. Dispose it to free the native memory at once.</summary>
public sealed class LabelledImages : IDisposable
{
    /// <summary>
    /// Wraps your own images and labels, so that the trainer, the evaluator and the distillation methods work on any
    /// image-classification data. The new object owns the tensors: disposing it disposes them. They are checked as the
    /// Fashion-MNIST loader checks its files: the same number of images and labels, one device, the expected shapes and
    /// types, and every label in range.
    /// </summary>
    /// <param name="images">Float images [N, channels, height, width] (normalise them as your models expect), N ≥ 1, finite.</param>
    /// <param name="labels">Int64 class labels [N], on the device of <paramref name="images"/>.</param>
    /// <param name="split">Which part of the data set these are.</param>
    /// <param name="classes">The number of classes: every label must lie in 0 .. classes − 1.</param>
    /// <exception cref="ArgumentException">A check fails; the message says which and how to fix it.</exception>
    public LabelledImages(Tensor images, Tensor labels, Split split = Split.Train, int classes = FashionMnist.NumClasses)
        : this(Checked(images, labels, classes), labels, split)
    {
    }

    /// <summary>Unchecked: for <see cref="Trusted"/> and the checked constructor above.</summary>
    LabelledImages(Tensor images, Tensor labels, Split split)
    {
        Images = images;
        Labels = labels;
        Split = split;
    }

    /// <summary>Wraps tensors the library made itself and knows to be valid (no host synchronisation).</summary>
    internal static LabelledImages Trusted(Tensor images, Tensor labels, Split split) => new(images, labels, split);

    static Tensor Checked(Tensor images, Tensor labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (classes < 1)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, "There must be at least one class.");
        if (images.dim() != 4)
            throw new ArgumentException($"Images must have 4 dimensions [N, channels, height, width]; these have shape [{string.Join(", ", images.shape)}]. " +
                "Add a channel dimension with images.unsqueeze(1) for grayscale [N, H, W].", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"Images must be floating point (float32 as the models expect); these are {images.dtype}. Convert with images.to_type(ScalarType.Float32) and normalise.", nameof(images));
        if (images.shape[0] < 1)
            throw new ArgumentException("There are no images (N = 0).", nameof(images));
        if (labels.dim() != 1 || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"Labels must be int64 of shape [N]; these are {labels.dtype} of shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (labels.shape[0] != images.shape[0])
            throw new ArgumentException($"There are {images.shape[0]} images but {labels.shape[0]} labels.", nameof(labels));
        if (labels.device_type != images.device_type || labels.device_index != images.device_index)
            throw new ArgumentException($"Images are on {images.device} but labels on {labels.device}; move both to one device.", nameof(labels));
        using var scope = NewDisposeScope();
        var outOfRange = labels.lt(0).logical_or(labels.ge(classes)).nonzero();
        if (outOfRange.shape[0] > 0)
        {
            long at = outOfRange[0, 0].item<long>();
            throw new ArgumentException($"Label {labels[at].item<long>()} at index {at} is out of range 0..{classes - 1}.", nameof(labels));
        }
        if (!images.isfinite().all().item<bool>())
            throw new ArgumentException("The images contain NaN or infinite values.", nameof(images));
        return images;
    }

    /// <summary>Normalised images, float32, shape [N, 1, 28, 28].</summary>
    public Tensor Images { get; }

    /// <summary>Class labels, int64, shape [N].</summary>
    public Tensor Labels { get; }

    /// <summary>Which split these come from.</summary>
    public Split Split { get; }

    /// <summary>The number of images.</summary>
    public int Count => (int)Labels.shape[0];

    /// <summary>
    /// A class-balanced random subset of <paramref name="count"/> images: count / classes of each class (the first
    /// count % classes classes get one more), drawn with <paramref name="seed"/>, in random order. New tensors.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">count is not in [classes, Count], or a class has too few images.</exception>
    public LabelledImages BalancedSubset(int count, long seed, int classes = FashionMnist.NumClasses)
    {
        if (count < classes || count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A balanced subset needs between {classes} and {Count} images.");
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        var labels = Labels.cpu();
        var picked = new List<Tensor>();
        for (int c = 0; c < classes; c++)
        {
            var members = labels.eq(c).nonzero().squeeze(1);
            int want = count / classes + (c < count % classes ? 1 : 0);
            if (members.shape[0] < want)
                throw new ArgumentOutOfRangeException(nameof(count), count, $"Class {c} has only {members.shape[0]} images; {want} are needed.");
            picked.Add(members.index_select(0, randperm(members.shape[0], generator: generator).narrow(0, 0, want)));
        }
        var all = cat(picked, 0);
        var index = all.index_select(0, randperm(all.shape[0], generator: generator)).to(Images.device);
        return Trusted(Images.index_select(0, index).MoveToOuterDisposeScope(), Labels.index_select(0, index).MoveToOuterDisposeScope(), Split);
    }

    /// <summary>The same images and labels on <paramref name="device"/>, as new handles that are safe to dispose (aliases
    /// when they are there already).</summary>
    public LabelledImages To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Trusted(Devices.OnDevice(Images, device), Devices.OnDevice(Labels, device), Split);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

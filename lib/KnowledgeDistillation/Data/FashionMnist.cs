using System.Security.Cryptography;
using KnowledgeDistillation.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Data;

/// <summary>One shipped file and whether its SHA-256 matches the recorded one.</summary>
public sealed record DataFileCheck(string File, bool Present, bool ChecksumMatches, string? ActualSha256);

/// <summary>
/// Zalando's Fashion-MNIST (MIT licence): 28×28 grayscale images of clothing in 10 classes, shipped in
/// <c>datasets/fashion-mnist/</c> as the four original IDX files.
/// </summary>
/// <remarks>
/// Images are scaled to [0, 1], then normalised with the training set's pixel mean and standard deviation,
/// <see cref="Mean"/> and <see cref="Std"/>, measured over all 47,040,000 training pixels. Source: H. Xiao, K. Rasul,
/// R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms", arXiv:1708.07747.
/// </remarks>
public static class FashionMnist
{
    /// <summary>The number of classes.</summary>
    public const int NumClasses = 10;

    /// <summary>The side of each square image, in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>The training set's pixel mean, after scaling pixels to [0, 1].</summary>
    public const float Mean = 0.2860406f;

    /// <summary>The training set's pixel standard deviation, after scaling pixels to [0, 1].</summary>
    public const float Std = 0.3530242f;

    /// <summary>Class names by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The shipped files and their SHA-256 sums (as in <c>datasets/fashion-mnist/SHA256SUMS</c>).</summary>
    public static IReadOnlyDictionary<string, string> Sha256 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        ["train-labels-idx1-ubyte.gz"] = "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ["t10k-images-idx3-ubyte.gz"] = "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ["t10k-labels-idx1-ubyte.gz"] = "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    };

    /// <summary>Where the files are: <c>KD_DATA_DIR</c> if set, else <c>datasets/fashion-mnist</c> in the repository.</summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("KD_DATA_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(RepoPaths.Root ?? Directory.GetCurrentDirectory(), "datasets", "fashion-mnist");

    /// <summary>The raw bytes of one split, validated: pixels [N·28·28] and labels [N].</summary>
    /// <param name="split">Train or test.</param>
    /// <param name="directory">The folder of the four files; <see cref="DefaultDirectory"/> when null.</param>
    /// <param name="limit">When given, only the first <paramref name="limit"/> items.</param>
    public static (IdxArray Images, IdxArray Labels) ReadRaw(Split split, string? directory = null, int? limit = null)
    {
        directory ??= DefaultDirectory;
        if (limit is <= 0) throw new ArgumentOutOfRangeException(nameof(limit), limit, "limit must be positive.");
        string prefix = split == Split.Train ? "train" : "t10k";
        string imagesPath = Path.Combine(directory, $"{prefix}-images-idx3-ubyte.gz");
        string labelsPath = Path.Combine(directory, $"{prefix}-labels-idx1-ubyte.gz");
        foreach (var path in new[] { imagesPath, labelsPath })
        {
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"Fashion-MNIST file not found: {path}. The repository ships it in datasets/fashion-mnist/; " +
                    "on Debian or Ubuntu, `apt-get download dataset-fashion-mnist` and `dpkg -x` it, then copy " +
                    "usr/share/datasets/fashion-mnist/*.gz there, or set KD_DATA_DIR to the folder that holds them.", path);
        }

        var images = Idx.Read(imagesPath, expectedDimensions: 3);
        var labels = Idx.Read(labelsPath, expectedDimensions: 1);
        if (images.Shape[1] != ImageSize || images.Shape[2] != ImageSize)
            throw new InvalidDataException($"{imagesPath}: images are {images.Shape[1]}×{images.Shape[2]}, expected {ImageSize}×{ImageSize}.");
        if (images.Count != labels.Count)
            throw new InvalidDataException($"{imagesPath} holds {images.Count} images but {labelsPath} holds {labels.Count} labels.");
        int bad = Array.FindIndex(labels.Data, l => l >= NumClasses);
        if (bad >= 0)
            throw new InvalidDataException($"{labelsPath}: label {labels.Data[bad]} at index {bad} is out of range 0..{NumClasses - 1}.");

        if (limit is { } n && n < images.Count)
        {
            images = new IdxArray([n, ImageSize, ImageSize], images.Data[..(n * ImageSize * ImageSize)]);
            labels = new IdxArray([n], labels.Data[..n]);
        }
        return (images, labels);
    }

    /// <summary>Loads one split as normalised float32 images [N, 1, 28, 28] and int64 labels [N] on <paramref name="device"/>.</summary>
    /// <param name="split">Train or test.</param>
    /// <param name="directory">The folder of the four files; <see cref="DefaultDirectory"/> when null.</param>
    /// <param name="limit">When given, only the first <paramref name="limit"/> items (quick mode uses this).</param>
    /// <param name="device">Where the tensors live; the CPU when null.</param>
    public static LabelledImages Load(Split split, string? directory = null, int? limit = null, Device? device = null)
    {
        var (images, labels) = ReadRaw(split, directory, limit);
        using var scope = NewDisposeScope();
        var pixels = tensor(images.Data, [images.Count, 1, ImageSize, ImageSize], dtype: ScalarType.Byte);
        var x = pixels.to(device ?? CPU).to_type(ScalarType.Float32).div_(255f).sub_(Mean).div_(Std);
        var y = tensor(labels.Data, [labels.Count], dtype: ScalarType.Byte).to(device ?? CPU).to_type(ScalarType.Int64);
        return LabelledImages.Trusted(x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope(), split);
    }

    /// <summary>Checks that the four files are present and match their recorded SHA-256 sums.</summary>
    public static IReadOnlyList<DataFileCheck> Verify(string? directory = null)
    {
        directory ??= DefaultDirectory;
        var checks = new List<DataFileCheck>();
        foreach (var (file, expected) in Sha256)
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                checks.Add(new DataFileCheck(file, false, false, null));
                continue;
            }
            using var stream = File.OpenRead(path);
            string actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            checks.Add(new DataFileCheck(file, true, actual == expected, actual));
        }
        return checks;
    }
}

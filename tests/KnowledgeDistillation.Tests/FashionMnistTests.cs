using KnowledgeDistillation.Data;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

public class FashionMnistTests
{
    static void WriteSplit(string dir, string prefix, int count, byte[]? labels = null, int? labelCount = null)
    {
        var images = new byte[count * 28 * 28];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)(i % 256);
        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"), IdxTests.Gzip(IdxTests.Make([count, 28, 28], images)));
        labels ??= Enumerable.Range(0, labelCount ?? count).Select(i => (byte)(i % 10)).ToArray();
        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz"), IdxTests.Gzip(IdxTests.Make([labels.Length], labels)));
    }

    [Fact]
    public void Shipped_files_match_their_recorded_SHA256()
    {
        var checks = FashionMnist.Verify(Path.Combine(Repo.Root, "datasets", "fashion-mnist"));
        Assert.Equal(4, checks.Count);
        Assert.All(checks, c => Assert.True(c.Present && c.ChecksumMatches, $"{c.File}: present={c.Present}, sha256={c.ActualSha256}"));
    }

    [Fact]
    public void SHA256SUMS_file_agrees_with_the_library()
    {
        var lines = File.ReadAllLines(Path.Combine(Repo.Root, "datasets", "fashion-mnist", "SHA256SUMS"));
        var fromFile = lines.Select(l => l.Split("  ")).ToDictionary(p => p[1], p => p[0]);
        Assert.Equal(FashionMnist.Sha256.OrderBy(p => p.Key), fromFile.OrderBy(p => p.Key));
    }

    [Fact]
    public void Verify_detects_a_changed_file()
    {
        using var dir = new TempDirectory();
        foreach (var f in FashionMnist.Sha256.Keys)
            File.Copy(Path.Combine(Repo.Root, "datasets", "fashion-mnist", f), dir.File(f));
        var bytes = File.ReadAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"));
        bytes[^1] ^= 1;
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"), bytes);
        File.Delete(dir.File("train-labels-idx1-ubyte.gz"));

        var checks = FashionMnist.Verify(dir.Path).ToDictionary(c => c.File);
        Assert.False(checks["t10k-labels-idx1-ubyte.gz"].ChecksumMatches);
        Assert.False(checks["train-labels-idx1-ubyte.gz"].Present);
        Assert.True(checks["t10k-images-idx3-ubyte.gz"].ChecksumMatches);
    }

    [Fact]
    public void Test_split_loads_with_documented_shapes_types_and_balance()
    {
        using var test = FashionMnist.Load(Split.Test);
        Assert.Equal(new long[] { 10_000, 1, 28, 28 }, test.Images.shape);
        Assert.Equal(ScalarType.Float32, test.Images.dtype);
        Assert.Equal(ScalarType.Int64, test.Labels.dtype);
        Assert.Equal(10_000, test.Count);
        // Fashion-MNIST's test set has exactly 1,000 images per class.
        using var counts = bincount(test.Labels, minlength: 10);
        Assert.All(counts.data<long>().ToArray(), c => Assert.Equal(1000L, c));
    }

    [Fact]
    public void Training_set_is_normalised_to_mean_0_and_std_1()
    {
        using var train = FashionMnist.Load(Split.Train);
        Assert.Equal(60_000, train.Count);
        // Mean and Std were measured on these pixels, so the normalised set must have mean ~0 and std ~1.
        // Tolerance 1e-4: the constants carry 7 significant digits; float32 sums over 47M values lose a little more.
        Assert.InRange(train.Images.mean().item<float>(), -1e-4f, 1e-4f);
        Assert.InRange(train.Images.std().item<float>(), 1 - 1e-4f, 1 + 1e-4f);
        // The first training image is an ankle boot (label 9), as in the original data set.
        Assert.Equal(9L, train.Labels[0].item<long>());
    }

    [Fact]
    public void Limit_takes_the_first_items()
    {
        using var few = FashionMnist.Load(Split.Test, limit: 32);
        using var all = FashionMnist.Load(Split.Test);
        Assert.Equal(32, few.Count);
        Assert.True(few.Images.eq(all.Images[..32]).all().item<bool>());
        Assert.True(few.Labels.eq(all.Labels[..32]).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => FashionMnist.ReadRaw(Split.Test, limit: 0));
    }

    [Fact]
    public void Missing_files_say_where_to_get_them()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(Split.Train, dir.Path));
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
        Assert.Contains("datasets/fashion-mnist", e.Message);
        Assert.Contains("dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void Label_out_of_range_is_rejected_with_its_index()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir.Path, "t10k", 3, labels: [1, 10, 2]);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(Split.Test, dir.Path));
        Assert.Contains("label 10 at index 1", e.Message);
        Assert.Contains("t10k-labels-idx1-ubyte.gz", e.Message);
    }

    [Fact]
    public void Image_and_label_counts_must_agree()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir.Path, "t10k", 3, labelCount: 4);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(Split.Test, dir.Path));
        Assert.Contains("3 images", e.Message);
        Assert.Contains("4 labels", e.Message);
    }

    [Fact]
    public void A_valid_crafted_split_loads_and_normalises()
    {
        using var dir = new TempDirectory();
        WriteSplit(dir.Path, "t10k", 2);
        using var data = FashionMnist.Load(Split.Test, dir.Path);
        Assert.Equal(new long[] { 2, 1, 28, 28 }, data.Images.shape);
        // Pixel 1 of image 0 is byte value 1.
        float expected = (1f / 255f - FashionMnist.Mean) / FashionMnist.Std;
        Assert.Equal(expected, data.Images[0, 0, 0, 1].item<float>(), 1e-6f);
        Assert.Equal([0L, 1L], data.Labels.data<long>().ToArray());
    }
}

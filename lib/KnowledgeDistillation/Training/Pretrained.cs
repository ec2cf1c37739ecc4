using TorchSharp;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>What a shipped model is and how it was made; stored as <c>NAME.json</c> beside <c>NAME.bin</c>.</summary>
/// <param name="Name">The file stem, for example <c>cnn-teacher</c>.</param>
/// <param name="Model">The <see cref="ModelZoo"/> name of the architecture.</param>
/// <param name="Command">The exact command that trained it.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Epochs">Epochs trained.</param>
/// <param name="TestAccuracy">Accuracy on the 10,000 Fashion-MNIST test images.</param>
/// <param name="TestLoss">Cross entropy on the test set.</param>
/// <param name="TestEce">Expected calibration error on the test set.</param>
/// <param name="Parameters">Parameter count.</param>
/// <param name="Sha256">SHA-256 of the weights file.</param>
/// <param name="TorchSharp">The TorchSharp version that wrote it.</param>
/// <param name="TrainingSeconds">Wall time of the training.</param>
public sealed record ModelManifest(
    string Name, string Model, string Command, long Seed, int Epochs, double TestAccuracy, double TestLoss, double TestEce,
    long Parameters, string Sha256, string TorchSharp, double TrainingSeconds);

/// <summary>Pretrained models shipped in <c>datasets/pretrained/</c>, so that nobody waits for a teacher in a lab.</summary>
public static class Pretrained
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    /// <summary><c>KD_PRETRAINED_DIR</c> if set, else <c>datasets/pretrained</c> in the repository.</summary>
    public static string DefaultDirectory =>
        Environment.GetEnvironmentVariable("KD_PRETRAINED_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(RepoPaths.Root ?? Directory.GetCurrentDirectory(), "datasets", "pretrained");

    /// <summary>Saves <paramref name="model"/>'s weights as <c>NAME.bin</c> and its manifest (with the file's SHA-256) as <c>NAME.json</c>.</summary>
    public static ModelManifest Save(nn.Module<Tensor, Tensor> model, ModelManifest manifest, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(manifest);
        directory ??= DefaultDirectory;
        Directory.CreateDirectory(directory);
        string weights = Path.Combine(directory, manifest.Name + ".bin");
        string temp = weights + ".tmp";
        model.save(temp);
        File.Move(temp, weights, overwrite: true);
        var complete = manifest with { Sha256 = Sha256Of(weights) };
        File.WriteAllText(Path.Combine(directory, manifest.Name + ".json"), JsonSerializer.Serialize(complete, Json) + "\n");
        return complete;
    }

    /// <summary>Reads a manifest.</summary>
    public static ModelManifest ReadManifest(string name, string? directory = null)
    {
        directory ??= DefaultDirectory;
        string path = Path.Combine(directory, name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"No pretrained model '{name}' in {directory} ({path} is missing). The repository ships cnn-teacher and mlp-teacher; " +
                "train one with `kd train-teacher --model cnn-teacher --out datasets/pretrained`.", path);
        return JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path}: unreadable manifest.");
    }

    /// <summary>Loads a shipped model, checks its SHA-256 against the manifest, and returns it in evaluation mode.</summary>
    /// <exception cref="InvalidDataException">The weights file does not match its manifest.</exception>
    public static (FeatureModel Model, ModelManifest Manifest) Load(string name, string? directory = null, Device? device = null)
    {
        directory ??= DefaultDirectory;
        var manifest = ReadManifest(name, directory);
        string weights = VerifiedWeights(name, directory, manifest.Sha256);
        var model = ModelZoo.Create(manifest.Model);
        model.load(weights);
        if (device is not null) model.to(device);
        model.eval();
        return (model, manifest);
    }

    /// <summary>The path of <paramref name="name"/>'s weights in <paramref name="directory"/>, after checking that the
    /// file exists and has the SHA-256 its manifest records (shared with <see cref="Language.LmCheckpoint"/>).</summary>
    /// <exception cref="FileNotFoundException">The weights are missing.</exception>
    /// <exception cref="InvalidDataException">The weights do not match the manifest.</exception>
    internal static string VerifiedWeights(string name, string directory, string expectedSha256)
    {
        string weights = Path.Combine(directory, name + ".bin");
        if (!File.Exists(weights)) throw new FileNotFoundException($"{weights} is missing (its manifest is there).", weights);
        string actual = Sha256Of(weights);
        if (actual != expectedSha256)
            throw new InvalidDataException($"{weights} has SHA-256 {actual}, but its manifest says {expectedSha256}; the file is damaged or was replaced.");
        return weights;
    }

    /// <summary>The lower-case hex SHA-256 of a file.</summary>
    internal static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

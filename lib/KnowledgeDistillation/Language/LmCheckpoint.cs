using System.Text.Json;
using System.Text.Json.Serialization;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Language;

/// <summary>What a saved language model is and how it was made; stored as <c>NAME.json</c> beside <c>NAME.bin</c>.</summary>
/// <param name="Name">The file stem, for example <c>char-lm-teacher</c>.</param>
/// <param name="Config">The architecture, enough to rebuild the model before loading the weights.</param>
/// <param name="Format">The format it was trained on.</param>
/// <param name="Command">The code or command that trained it.</param>
/// <param name="Seed">The seed of the weights and the batch order.</param>
/// <param name="Steps">Optimiser steps.</param>
/// <param name="Splits">The problem splits it was trained and tested on.</param>
/// <param name="TestAccuracy">Greedy exact match on <c>Splits</c>' in-distribution test split.</param>
/// <param name="TestLongerAccuracy">Greedy exact match on the held-out longer numbers.</param>
/// <param name="Parameters">Parameter count.</param>
/// <param name="Sha256">SHA-256 of the weights file.</param>
/// <param name="TorchSharp">The TorchSharp version that wrote it.</param>
/// <param name="TrainingSeconds">Wall time of the training.</param>
public sealed record LmManifest(
    string Name, TinyGptConfig Config, ReasoningFormat Format, string Command, long Seed, int Steps, AdditionSplitOptions Splits,
    double TestAccuracy, double TestLongerAccuracy, long Parameters, string Sha256, string TorchSharp, double TrainingSeconds);

/// <summary>Saves and loads <see cref="TinyGpt"/> models with a manifest, as <see cref="Pretrained"/> does for the image models.</summary>
public static class LmCheckpoint
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Saves the weights as <c>NAME.bin</c> and the manifest, with the weights' SHA-256 filled in, as <c>NAME.json</c>.</summary>
    public static LmManifest Save(TinyGpt model, LmManifest manifest, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(manifest);
        if (manifest.Config != model.Config)
            throw new ArgumentException($"The manifest's configuration {manifest.Config} is not the model's {model.Config}.", nameof(manifest));
        directory ??= Pretrained.DefaultDirectory;
        Directory.CreateDirectory(directory);
        string weights = Path.Combine(directory, manifest.Name + ".bin");
        string temp = weights + ".tmp";
        model.save(temp);
        File.Move(temp, weights, overwrite: true);
        var complete = manifest with { Sha256 = Pretrained.Sha256Of(weights), Parameters = model.ParameterCount() };
        File.WriteAllText(Path.Combine(directory, manifest.Name + ".json"), JsonSerializer.Serialize(complete, Json) + "\n");
        return complete;
    }

    /// <summary>Reads a manifest.</summary>
    public static LmManifest ReadManifest(string name, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        directory ??= Pretrained.DefaultDirectory;
        string path = Path.Combine(directory, name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"No language model '{name}' in {directory} ({path} is missing). The repository ships char-lm-teacher.", path);
        return JsonSerializer.Deserialize<LmManifest>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: unreadable manifest.");
    }

    /// <summary>Builds the model of the manifest, checks the weights' SHA-256, loads them, and returns the model in evaluation mode.</summary>
    /// <exception cref="InvalidDataException">The weights file does not match its manifest.</exception>
    public static (TinyGpt Model, LmManifest Manifest) Load(string name, string? directory = null)
    {
        directory ??= Pretrained.DefaultDirectory;
        var manifest = ReadManifest(name, directory);
        string weights = Pretrained.VerifiedWeights(name, directory, manifest.Sha256);
        var model = new TinyGpt(manifest.Config, name);
        model.load(weights);
        model.eval();
        return (model, manifest);
    }
}

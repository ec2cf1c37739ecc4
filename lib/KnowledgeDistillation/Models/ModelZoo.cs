using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>The tutorial's models by name, for the CLI, checkpoints and manifests.</summary>
public static class ModelZoo
{
    static readonly Dictionary<string, (Func<FeatureModel> Create, string Description)> Models = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cnn-teacher"] = (() => SmallCnn.Teacher(), "SmallCnn teacher: 2 conv blocks (32, 64 channels) and a 320-unit layer, ~1.0M parameters"),
        ["cnn-student"] = (() => SmallCnn.Student(), "SmallCnn student: 2 conv blocks (8, 16 channels) and a 128-unit layer, ~0.1M parameters"),
        ["mlp-teacher"] = (() => Mlp.HintonTeacher(), "Hinton's teacher MLP 784-1200-1200-10 with dropout"),
        ["mlp-student"] = (() => Mlp.HintonStudent(), "Hinton's student MLP 784-800-800-10"),
        ["mlp-tiny"] = (() => Mlp.TinyStudent(), "a tiny MLP 784-32-10"),
        ["resnet20"] = (() => ResNet.ResNet20(), "ResNet-20 for 28x28 images, for the GPU path"),
    };

    /// <summary>Every known name.</summary>
    public static IReadOnlyList<string> Names => [.. Models.Keys];

    /// <summary>One line per model.</summary>
    public static string Describe() => string.Join(Environment.NewLine, Models.Select(m => $"  {m.Key,-12} {m.Value.Description}"));

    /// <summary>A freshly initialised model (seed torch first for reproducible weights).</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static FeatureModel Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Models.TryGetValue(name, out var entry))
            throw new ArgumentException($"Unknown model '{name}'. Known models: {string.Join(", ", Models.Keys)}.", nameof(name));
        return entry.Create();
    }
}

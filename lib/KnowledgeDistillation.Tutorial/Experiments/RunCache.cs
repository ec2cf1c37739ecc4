using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Experiments;

/// <summary>
/// Finished runs of the experiment table on disk, so that a run whose configuration, seed, teacher, data and code are
/// unchanged is not trained twice (<see cref="Reproduction.Run"/>, <c>kd reproduce</c>): a second table, a table that
/// shares runs with another (notebooks 05 and 06), or a table whose process was killed half-way picks up every finished
/// run. A reused row says so (<see cref="ReproductionRow.Reused"/>).
/// </summary>
/// <remarks>
/// <para><b>Why reuse is safe.</b> On the CPU, a seeded run at a fixed number of torch threads gives the same bits every
/// time (a test checks it), so a stored run is the run that would be trained again.</para>
/// <para><b>What invalidates an entry.</b> The key is a SHA-256 of everything the result depends on: the method and its
/// settings (T, α, the weights; not for the scratch student), the student, the regime (images, epochs), the seed, the training options (optimiser, learning rate,
/// schedule, batch size, …), the test subset, the device and the number of torch threads, TorchSharp's version, the
/// teacher's weights (every tensor of its state, by value; not for the scratch student, which never sees the teacher, so
/// its runs are shared by tables with different teachers), the training and test data (by value), and the code (the
/// bytes of both library assemblies, so any rebuild that changes the library misses). A changed input gives another key;
/// the old entry is left and never read again. Delete the folder to drop them all.</para>
/// <para><b>A killed run resumes.</b> While a run trains, its checkpoint (<c>key.ckpt</c>: the student, a FitNets
/// regressor, the optimiser, both generators and the history) is rewritten after every epoch; the same run started
/// again continues from it and ends with the same bits as an uninterrupted run (the trainer's exact resume), and the
/// checkpoint is deleted once the run is stored.</para>
/// <para>An entry is a small JSON file (<c>key.json</c>) with the row, the run's epoch history and the text its key was
/// made from, written to a temporary file and moved into place, so a process killed while writing leaves no half
/// entry. An entry that cannot be read counts as missing.</para>
/// </remarks>
public sealed class RunCache
{
    const int FormatVersion = 1;
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    static string? codeVersion;

    /// <summary>A cache in <paramref name="directory"/> (created when the first entry is written).</summary>
    public RunCache(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
    }

    /// <summary>The folder of the entries.</summary>
    public string Directory { get; }

    /// <summary>The environment variable that moves <see cref="Default"/> to another folder (for a measurement that must
    /// start from an empty cache, such as <c>kd-bench notebooks --notebooks full</c>), or turns it off with <c>off</c>.</summary>
    public const string FolderVariable = "KD_RUN_CACHE";

    /// <summary>The repository's cache, <c>artifacts/run-cache</c> (git-ignored), which <c>kd reproduce</c> and the
    /// notebooks share; the folder in <see cref="FolderVariable"/> when it is set (null when it is <c>off</c>); null outside
    /// a clone of the repository.</summary>
    public static RunCache? Default => Environment.GetEnvironmentVariable(FolderVariable) is { Length: > 0 } chosen
        ? chosen.Equals("off", StringComparison.OrdinalIgnoreCase) ? null : new RunCache(chosen)
        : RepoPaths.Root is { } root ? new RunCache(Path.Combine(root, "artifacts", "run-cache")) : null;

    /// <summary>Whether stored runs are read (true) or every run is trained and its entry rewritten (false: a forced
    /// re-run, <c>kd reproduce --no-cache</c>).</summary>
    public bool Reuse { get; init; } = true;

    /// <summary>Runs read from this cache so far.</summary>
    public int Hits { get; private set; }

    /// <summary>Runs not found (and so trained) so far.</summary>
    public int Misses { get; private set; }

    /// <summary>The SHA-256 of the code: both library assemblies' bytes (computed once per process).</summary>
    public static string CodeVersion => codeVersion ??= Sha256(
        [.. new[] { typeof(Trainer).Assembly, typeof(Reproduction).Assembly }.SelectMany(a => File.ReadAllBytes(a.Location))]);

    /// <summary>The SHA-256 of a model's state (every parameter and buffer, by name, dtype, shape and value).</summary>
    public static string Fingerprint(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in model.state_dict().OrderBy(p => p.Key, StringComparer.Ordinal))
            Append(sha, name, tensor);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The SHA-256 of a data set's images and labels, by value.</summary>
    public static string Fingerprint(LabelledImages data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(sha, "images", data.Images);
        Append(sha, "labels", data.Labels);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The text a run's key is the hash of: one line per input, in a fixed order.</summary>
    public static string Describe(string method, ReproductionSettings settings, ReproductionRegime regime, long seed, TrainingOptions options,
        string teacher, string trainData, string testData)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(regime);
        ArgumentNullException.ThrowIfNull(options);
        string device = Devices.Resolve(options.Device).ToString();
        var lines = new[]
        {
            $"format {FormatVersion}",
            $"method {method}",
            // The scratch student uses neither the teacher nor T, α and the weights.
            $"method settings {(method == Reproduction.Scratch ? "none" : JsonSerializer.Serialize(settings.Method, Json).ReplaceLineEndings(" "))}",
            $"student {settings.Student}",
            $"regime images {regime.Images?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all"}, epochs {regime.Epochs}",
            $"seed {seed}",
            // The device by what it resolves to, so that "auto" and "cpu" on a machine without CUDA share their runs.
            $"training {JsonSerializer.Serialize(options with { Device = device }, Json).ReplaceLineEndings(" ")}",
            $"test images {settings.TestImages?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all"} (subset seed {Reproduction.TestSubsetSeed})",
            $"device {device}, {get_num_threads()} torch threads, TorchSharp {typeof(torch).Assembly.GetName().Version}",
            $"teacher {teacher}",
            $"train data {trainData}",
            $"test data {testData}",
            $"code {CodeVersion}",
        };
        return string.Join("\n", lines);
    }

    /// <summary>The key of a run: the SHA-256 of its description (<see cref="Describe"/>).</summary>
    public static string Key(string description) => Sha256(Encoding.UTF8.GetBytes(description));

    /// <summary>The stored row of <paramref name="key"/>, marked <see cref="ReproductionRow.Reused"/>, or null (counted as
    /// a miss) when there is none or it cannot be read.</summary>
    public ReproductionRow? TryGet(string key)
    {
        string path = PathOf(key);
        try
        {
            if (Reuse && File.Exists(path) && JsonSerializer.Deserialize<Entry>(File.ReadAllText(path), Json) is { Format: FormatVersion, Row: { } row })
            {
                Hits++;
                return row with { Reused = true };
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            // A damaged entry is a miss; the run is trained again and the entry rewritten.
        }
        Misses++;
        return null;
    }

    /// <summary>Stores a finished run (atomically: a killed process leaves no partial entry).</summary>
    public void Put(string key, string description, ReproductionRow row, IReadOnlyList<EpochRecord> history)
    {
        ArgumentNullException.ThrowIfNull(row);
        System.IO.Directory.CreateDirectory(Directory);
        string path = PathOf(key), temporary = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(new Entry(FormatVersion, description, row with { Reused = false }, [.. history]), Json));
        File.Move(temporary, path, overwrite: true);
    }

    string PathOf(string key) => Path.Combine(Directory, key + ".json");

    /// <summary>Where the run of <paramref name="key"/> keeps its checkpoint while it trains (<c>key.ckpt</c>, written after
    /// every epoch and deleted once the run is stored), so that a killed run resumes from its last finished epoch.</summary>
    public string CheckpointPath(string key) => Path.Combine(Directory, key + ".ckpt");

    static void Append(IncrementalHash sha, string name, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var t = tensor.detach().cpu().contiguous();
        sha.AppendData(Encoding.UTF8.GetBytes($"{name}|{t.dtype}|{string.Join("x", t.shape)}|"));
        sha.AppendData(t.bytes);
    }

    static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>One stored run.</summary>
    sealed record Entry(int Format, string Description, ReproductionRow Row, EpochRecord[] History);
}

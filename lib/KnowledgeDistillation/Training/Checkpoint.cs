using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// A training checkpoint: the model, the trainable parameters besides it (a FitNets regressor), the optimiser's state, the
/// epoch, both random generators and the history, in one file written atomically (a temporary file, then a rename), so
/// that a killed run loses at most the epoch in progress.
/// </summary>
public static class Checkpoint
{
    /// <summary>Version 2 adds the extra parameters after the model; version 1 files (no extra parameters) still load
    /// into runs that have none.</summary>
    const string Magic = "KDCKPT02", MagicV1 = "KDCKPT01";

    /// <summary>NaN is a legitimate value in the records (the test metrics of an epoch that was not evaluated, the training
    /// accuracy of a language model), which JSON has no number for: it is written as the string "NaN".</summary>
    static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>What a checkpoint restores besides the weights and optimiser.</summary>
    /// <param name="Epoch">The last finished epoch.</param>
    /// <param name="History">Its records.</param>
    /// <param name="Fingerprint">Identifies the run's settings; a resume with other settings is refused.</param>
    public sealed record State(int Epoch, IReadOnlyList<EpochRecord> History, string Fingerprint)
    {
        /// <summary>The records of the steps of those epochs (empty in checkpoints written before steps were recorded).</summary>
        public IReadOnlyList<StepRecord> Steps { get; init; } = [];
    }

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file.</param>
    /// <param name="model">The model that learns.</param>
    /// <param name="optimizer">Its optimiser.</param>
    /// <param name="shuffle">The generator of the batch order.</param>
    /// <param name="state">The epoch, history and fingerprint.</param>
    /// <param name="extra">Trainable parameters that are not the model's (a FitNets regressor), in a fixed order.</param>
    public static void Save(string path, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, Generator shuffle, State state,
        IReadOnlyList<Tensor>? extra = null)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = $"{full}.{Environment.ProcessId}.tmp";
        using (var stream = File.Create(temp))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(JsonSerializer.Serialize(state, Json));
            using (var rng = get_rng_state()) WriteBytes(writer, rng);
            using (var shuffleState = shuffle.get_state()) WriteBytes(writer, shuffleState);
            model.save(writer);
            writer.Write(extra?.Count ?? 0);
            foreach (var p in extra ?? []) TorchSharp.TensorExtensionMethods.Save(p.detach(), writer);
            optimizer.save_state_dict(writer);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Reads a checkpoint into <paramref name="model"/>, the <paramref name="extra"/> parameters,
    /// <paramref name="optimizer"/> and the generators.</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, it was made with other settings, or it holds
    /// another number of extra parameters.</exception>
    public static State Load(string path, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, Generator shuffle, string expectedFingerprint,
        IReadOnlyList<Tensor>? extra = null)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var (magic, state) = ReadHeader(reader, path);
        if (state.Fingerprint != expectedFingerprint)
            throw new InvalidDataException($"{path} was written by a run with other settings ({state.Fingerprint}); this run is {expectedFingerprint}. Delete it or use another path.");
        var rng = ReadBytes(reader);
        var generator = ReadBytes(reader);
        model.load(reader);
        int count = magic == MagicV1 ? 0 : reader.ReadInt32();
        if (count != (extra?.Count ?? 0))
            throw new InvalidDataException($"{path} holds {count} trainable parameter(s) besides the model's, but this run has {extra?.Count ?? 0}" +
                                           (magic == MagicV1 ? " (the file was written before checkpoints held them)" : "") + ". Delete it or use another path.");
        using (no_grad())
            foreach (var p in extra ?? [])
            {
                using var stored = TorchSharp.TensorExtensionMethods.Load(reader);
                if (!stored.shape.SequenceEqual(p.shape))
                    throw new InvalidDataException($"{path}: a stored extra parameter is [{string.Join(", ", stored.shape)}], the run's is [{string.Join(", ", p.shape)}].");
                p.copy_(stored);
            }
        optimizer.load_state_dict(reader);
        set_rng_state(rng);
        shuffle.set_state(generator);
        return state;
    }

    /// <summary>The epoch, history and fingerprint of a checkpoint, without loading its tensors.</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint.</exception>
    public static State ReadState(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        return ReadHeader(reader, path).State;
    }

    /// <summary>The format's magic string and the JSON header.</summary>
    static (string Magic, State State) ReadHeader(BinaryReader reader, string path)
    {
        string magic;
        try { magic = reader.ReadString(); }
        catch (EndOfStreamException) { magic = ""; }
        if (magic != Magic && magic != MagicV1) throw new InvalidDataException($"{path} is not a training checkpoint.");
        var state = JsonSerializer.Deserialize<State>(reader.ReadString(), Json) ?? throw new InvalidDataException($"{path}: unreadable checkpoint header.");
        return (magic, state);
    }

    static void WriteBytes(BinaryWriter writer, Tensor state)
    {
        byte[] bytes;
        if (state.device_type == TorchSharp.DeviceType.CPU) bytes = state.data<byte>().ToArray();
        else
        {
            using var onCpu = state.cpu();
            bytes = onCpu.data<byte>().ToArray();
        }
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    static Tensor ReadBytes(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        return tensor(reader.ReadBytes(length), dtype: ScalarType.Byte);
    }
}

using KnowledgeDistillation.Runtime;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Language;

/// <summary>
/// Examples as next-token training tensors: each sequence is <c>prompt + completion + end</c>, right-padded to the
/// longest; the input is the sequence without its last token and the target without its first, so position t
/// predicts token t + 1. The loss mask is 1 where the target is a completion token (the end token included) and 0
/// on the prompt and the padding, so that the model learns to answer, not to write the question.
/// </summary>
public sealed class LmSequences : IDisposable
{
    LmSequences(Tensor inputs, Tensor targets, Tensor lossMask, int[] lengths)
    {
        Inputs = inputs;
        Targets = targets;
        LossMask = lossMask;
        Lengths = lengths;
    }

    /// <summary>Token ids [N, L] (int64), pad after each sequence.</summary>
    public Tensor Inputs { get; }

    /// <summary>The next tokens [N, L] (int64): <c>Targets[n, t] = sequence[n, t + 1]</c>.</summary>
    public Tensor Targets { get; }

    /// <summary>1 where the target belongs to the completion, else 0 [N, L] (float32).</summary>
    public Tensor LossMask { get; }

    /// <summary>The used length of each row of <see cref="Inputs"/> (the sequence's length minus one).</summary>
    public IReadOnlyList<int> Lengths { get; }

    /// <summary>The number of sequences.</summary>
    public int Count => Lengths.Count;

    /// <summary>Encodes <paramref name="examples"/>, as tensors on <paramref name="device"/> (the CPU when null).</summary>
    /// <exception cref="ArgumentException">There are none, a completion is empty, a character is unknown, or a sequence is longer than
    /// <paramref name="contextLength"/> + 1.</exception>
    public static LmSequences Create(CharVocabulary vocabulary, IReadOnlyList<LmExample> examples, int contextLength, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("There are no examples.", nameof(examples));
        var prompts = new long[examples.Count][];
        var completions = new long[examples.Count][];
        for (int i = 0; i < examples.Count; i++)
        {
            prompts[i] = vocabulary.Encode(examples[i].Prompt);
            completions[i] = [.. vocabulary.Encode(examples[i].Completion), vocabulary.EndId];
            if (prompts[i].Length == 0) throw new ArgumentException($"Example {i} has an empty prompt.", nameof(examples));
            int length = prompts[i].Length + completions[i].Length - 1;
            if (length > contextLength)
                throw new ArgumentException(
                    $"Example {i} (\"{examples[i].Prompt}{examples[i].Completion}\") needs {length} input tokens, more than the context length {contextLength}.", nameof(examples));
        }
        int[] lengths = [.. prompts.Select((p, i) => p.Length + completions[i].Length - 1)];
        int width = lengths.Max(), n = examples.Count;
        var inputs = new long[n * width];
        var targets = new long[n * width];
        var mask = new float[n * width];
        Array.Fill(inputs, vocabulary.PadId);
        Array.Fill(targets, vocabulary.PadId);
        for (int i = 0; i < n; i++)
        {
            long[] sequence = [.. prompts[i], .. completions[i]];
            for (int t = 0; t < sequence.Length - 1; t++)
            {
                inputs[i * width + t] = sequence[t];
                targets[i * width + t] = sequence[t + 1];
                mask[i * width + t] = t + 1 >= prompts[i].Length ? 1f : 0f;
            }
        }
        return new LmSequences(tensor(inputs, [n, width], device: device), tensor(targets, [n, width], device: device),
            tensor(mask, [n, width], device: device), lengths);
    }

    /// <summary>The device the tensors are on.</summary>
    public Device Device => Inputs.device;

    /// <summary>The same sequences on <paramref name="device"/>: new tensors, or aliases where they are there already.</summary>
    public LmSequences To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new LmSequences(Devices.OnDevice(Inputs, device), Devices.OnDevice(Targets, device), Devices.OnDevice(LossMask, device), [.. Lengths]);
    }

    /// <summary>The rows <paramref name="index"/> (int64 [b], on the sequences' device), cut to the longest of them:
    /// inputs, targets, mask. The index is read on the host to find the width; where it lives on a GPU, that read waits for
    /// the device, which the overload with the rows on the host avoids.</summary>
    public (Tensor Inputs, Tensor Targets, Tensor Mask) Batch(Tensor index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.device_type == TorchSharp.DeviceType.CPU) return Batch(index, index.data<long>().ToArray());
        using var onHost = index.cpu();
        return Batch(index, onHost.data<long>().ToArray());
    }

    /// <summary>The rows <paramref name="index"/> (int64 [b], on the sequences' device), whose values the host already has
    /// as <paramref name="rows"/>, cut to the longest of them: inputs, targets, mask. Nothing waits for the device.</summary>
    public (Tensor Inputs, Tensor Targets, Tensor Mask) Batch(Tensor index, IReadOnlyList<long> rows)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(rows);
        using var scope = NewDisposeScope();
        long width = rows.Max(r => Lengths[(int)r]);
        var x = Inputs.index_select(0, index).narrow(1, 0, width);
        var y = Targets.index_select(0, index).narrow(1, 0, width);
        var m = LossMask.index_select(0, index).narrow(1, 0, width);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope(), m.MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        LossMask.Dispose();
    }
}

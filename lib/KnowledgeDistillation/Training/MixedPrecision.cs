using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Training;

/// <summary>
/// <see cref="TrainingPrecision.BFloat16"/> for the training engine, which TorchSharp 0.107 has no autocast for: the model
/// is converted to bfloat16 for the steps ("working" weights), while float32 copies of its parameters ("masters") are
/// what the optimiser updates. After each backward pass the working gradients are copied, as float32, to the masters;
/// after each optimiser step the masters are rounded back into the working weights.
/// </summary>
/// <remarks>
/// Between epochs (<see cref="ToFloat32"/>) the model goes back to float32 holding the masters exactly, so that
/// evaluations, checkpoints and the caller see float32 weights; batch-norm statistics gathered in bfloat16 convert back
/// and forth without loss. Why masters: Adam's steps are about the learning rate (1e-3), while bfloat16 keeps 8
/// significant bits (a relative spacing of 2^-8 ≈ 0.4 %), so updates to weights of a few tenths would be rounded away
/// in bfloat16 weights.
/// </remarks>
sealed class MixedPrecision : IDisposable
{
    readonly nn.Module model;
    readonly List<Parameter> masters;
    List<Parameter> working = [];

    /// <summary>Makes float32 masters of the model's parameters (the model must be in float32).</summary>
    public MixedPrecision(nn.Module model)
    {
        this.model = model;
        using var _ = no_grad();
        masters = model.parameters().Select(p =>
        {
            if (p.dtype != ScalarType.Float32)
                throw new ArgumentException($"BFloat16 training starts from a float32 model; a parameter of {model.GetName()} is {p.dtype}.", nameof(model));
            using var value = p.detach();
            return new Parameter(value.clone(), p.requires_grad);
        }).ToList();
    }

    /// <summary>The float32 parameters the optimiser updates.</summary>
    public IReadOnlyList<Parameter> Masters => masters;

    /// <summary>Whether the model is in bfloat16 now.</summary>
    public bool Working { get; private set; }

    /// <summary>Copies the model's float32 parameters into the masters (after a checkpoint was loaded into the model).</summary>
    public void MastersFromModel()
    {
        if (Working) throw new InvalidOperationException("The model is in bfloat16; the masters are copied from float32 weights only.");
        using var _ = no_grad();
        foreach (var (m, p) in masters.Zip(model.parameters())) m.copy_(p);
    }

    /// <summary>Converts the model to bfloat16 for the steps.</summary>
    public void ToWorking()
    {
        if (Working) return;
        model.to(ScalarType.BFloat16);
        working = model.parameters().ToList();
        Working = true;
    }

    /// <summary>Converts the model back to float32 and puts the masters' values into its parameters.</summary>
    public void ToFloat32()
    {
        if (!Working) return;
        model.to(ScalarType.Float32);
        using (no_grad())
            foreach (var (p, m) in model.parameters().Zip(masters)) p.copy_(m);
        working = [];
        Working = false;
    }

    /// <summary>After the backward pass: the working gradients, as float32, become the masters' gradients, and the
    /// working gradients are zeroed for the next step.</summary>
    public void GradientsToMasters()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (w, m) in working.Zip(masters))
        {
            using var g = w.grad;
            if (g is null || g.IsInvalid) continue;
            if (m.grad is { } existing && !existing.IsInvalid)
                using (existing) existing.copy_(g);
            else
                m.grad = g.to(ScalarType.Float32);
        }
        model.zero_grad();
    }

    /// <summary>After the optimiser step: the masters, rounded to bfloat16, become the working weights.</summary>
    public void MastersToWorking()
    {
        using var _ = no_grad();
        foreach (var (w, m) in working.Zip(masters)) w.copy_(m);
    }

    /// <summary>Leaves the model in float32 with the masters' values, and frees the masters.</summary>
    public void Dispose()
    {
        ToFloat32();
        foreach (var m in masters) m.Dispose();
        masters.Clear();
    }
}

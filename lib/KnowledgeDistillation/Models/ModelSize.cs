using static TorchSharp.torch;

namespace KnowledgeDistillation.Models;

/// <summary>How big a model is: parameters, and forward FLOPs per sample.</summary>
/// <remarks>
/// <para>FLOPs are counted analytically, as 2 × the multiply-adds of the <c>Conv2d</c> and <c>Linear</c> layers
/// (see <see cref="Flops"/>). Bias additions, batch normalisation, ReLU, dropout, pooling and the residual additions
/// are ignored: they cost a few operations per activation, small next to the hundreds or thousands per output of a
/// convolution or linear layer.</para>
/// </remarks>
public static class ModelSize
{
    /// <summary>The number of parameter elements, <c>Σ numel</c> over <c>module.parameters()</c>.</summary>
    /// <remarks>Buffers such as batch norm's running mean and variance are not parameters and are not counted.</remarks>
    public static long ParameterCount(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.parameters().Sum(p => p.numel());
    }

    /// <summary>A one-line summary, such as <c>1,025,962 parameters, 9.69 MFLOPs per sample</c>.</summary>
    public static string Describe(FeatureModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return $"{model.ParameterCount():N0} parameters, {model.FlopsPerSample() / 1e6:F2} MFLOPs per sample";
    }
}

/// <summary>
/// Forward FLOPs of single layers for one sample: 2 × multiply-adds (one multiply and one add each). Biases are ignored.
/// </summary>
public static class Flops
{
    /// <summary>
    /// A 2-D convolution with a square <paramref name="k"/>×<paramref name="k"/> kernel:
    /// <c>2 · (cin / groups) · k² · cout · hout · wout</c>.
    /// </summary>
    /// <param name="cin">Input channels.</param>
    /// <param name="cout">Output channels.</param>
    /// <param name="k">Kernel size.</param>
    /// <param name="hout">Output height.</param>
    /// <param name="wout">Output width.</param>
    /// <param name="groups">Groups; <paramref name="cin"/> and <paramref name="cout"/> must be divisible by it.</param>
    public static long Conv2d(long cin, long cout, long k, long hout, long wout, long groups = 1)
    {
        Positive(cin, nameof(cin));
        Positive(cout, nameof(cout));
        Positive(k, nameof(k));
        Positive(hout, nameof(hout));
        Positive(wout, nameof(wout));
        Positive(groups, nameof(groups));
        if (cin % groups != 0 || cout % groups != 0)
            throw new ArgumentException($"cin ({cin}) and cout ({cout}) must be divisible by groups ({groups}).", nameof(groups));
        return 2 * (cin / groups) * k * k * cout * hout * wout;
    }

    /// <summary>A linear layer: <c>2 · in · out</c>.</summary>
    /// <param name="in">Input features.</param>
    /// <param name="out">Output features.</param>
    public static long Linear(long @in, long @out)
    {
        Positive(@in, nameof(@in));
        Positive(@out, nameof(@out));
        return 2 * @in * @out;
    }

    static void Positive(long value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }
}

using static TorchSharp.torch;

namespace KnowledgeDistillation.Analysis;

/// <summary>A principal-component projection: the projected points and the share of the variance each component keeps.</summary>
/// <param name="Points">The centred data projected on the components, [N, k].</param>
/// <param name="ExplainedVariance">The fraction of the total variance along each component, [k], in decreasing order.</param>
/// <param name="Components">The principal directions as rows, [k, D] (unit length, orthogonal).</param>
public sealed record PcaResult(Tensor Points, Tensor ExplainedVariance, Tensor Components) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Points.Dispose();
        ExplainedVariance.Dispose();
        Components.Dispose();
    }
}

/// <summary>Low-dimensional views of embeddings, to look at what a network's representation groups together.</summary>
public static class Projection
{
    /// <summary>
    /// Principal component analysis by the singular value decomposition of the centred data:
    /// <c>X − mean = U S Vᵀ</c>; the points are <c>U S</c> restricted to the first <paramref name="components"/> columns,
    /// the directions the first rows of <c>Vᵀ</c>, and the explained variance <c>S² / Σ S²</c>.
    /// </summary>
    /// <remarks>Each direction's sign is fixed so that its largest-magnitude entry is positive, so that two runs (or two
    /// models) are not drawn mirrored for no reason. Computed in float64 on the data's device.</remarks>
    /// <param name="x">Data [N, D] (an embedding per row); N ≥ 2.</param>
    /// <param name="components">How many components, 1 to min(N, D).</param>
    /// <exception cref="ArgumentException">x is not [N, D] with N ≥ 2, or components is out of range.</exception>
    public static PcaResult Pca(Tensor x, int components = 2)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() != 2 || x.shape[0] < 2)
            throw new ArgumentException($"PCA needs data [N, D] with at least two rows; got [{string.Join(", ", x.shape)}]. Flatten feature maps first.", nameof(x));
        long limit = Math.Min(x.shape[0], x.shape[1]);
        if (components < 1 || components > limit)
            throw new ArgumentOutOfRangeException(nameof(components), components, $"components must be between 1 and min(N, D) = {limit}.");
        using var scope = NewDisposeScope();
        var centred = x.detach().to_type(ScalarType.Float64);
        centred = centred.sub(centred.mean([0], keepdim: true));
        var (u, s, vt) = linalg.svd(centred, fullMatrices: false);
        var directions = vt.narrow(0, 0, components);
        // Sign convention: the largest-magnitude entry of each direction is positive.
        var largest = directions.abs().argmax(1, keepdim: true);
        var signs = directions.gather(1, largest).sign();
        signs = where(signs.eq(0), ones_like(signs), signs);
        directions = directions.mul(signs);
        var points = u.narrow(1, 0, components).mul(s.narrow(0, 0, components)).mul(signs.t());
        var squares = s.pow(2);
        var explained = squares.narrow(0, 0, components).div(squares.sum());
        return new PcaResult(points.MoveToOuterDisposeScope(), explained.MoveToOuterDisposeScope(), directions.MoveToOuterDisposeScope());
    }
}

using KnowledgeDistillation.Data;
using Plotly.NET;
using Plotly.NET.CSharp;
using static TorchSharp.torch;
using CSharpChart = Plotly.NET.CSharp.Chart;

namespace KnowledgeDistillation.Charts;

/// <summary>Plotly charts of images: a grid of samples per class.</summary>
public static class ImageCharts
{
    /// <summary>
    /// A grid with one panel per class, each holding the first <paramref name="perClass"/> images of that class
    /// tiled in <paramref name="rows"/> rows. Pixels are un-normalised back to [0, 1] and drawn in greys.
    /// </summary>
    /// <param name="data">Normalised images and labels (as <see cref="FashionMnist.Load"/> returns them).</param>
    /// <param name="perClass">Images per class, 1 to 32.</param>
    /// <param name="rows">Rows of images inside each class panel.</param>
    /// <param name="classNames">Panel titles by label; Fashion-MNIST's names when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">perClass or rows is out of range.</exception>
    /// <exception cref="ArgumentException">Some class has fewer than <paramref name="perClass"/> images.</exception>
    public static GenericChart SamplesPerClass(LabelledImages data, int perClass = 8, int rows = 2, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (perClass is < 1 or > 32) throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "perClass must be between 1 and 32.");
        if (rows < 1 || rows > perClass) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows must be between 1 and perClass ({perClass}).");
        classNames ??= FashionMnist.ClassNames;
        int columns = (perClass + rows - 1) / rows;
        const int gap = 2, side = FashionMnist.ImageSize;

        var labels = data.Labels.cpu().data<long>().ToArray();
        var panels = new List<GenericChart>();
        for (int c = 0; c < classNames.Count; c++)
        {
            var indices = Enumerable.Range(0, labels.Length).Where(i => labels[i] == c).Take(perClass).ToArray();
            if (indices.Length < perClass)
                throw new ArgumentException($"Class {c} ({classNames[c]}) has {indices.Length} image(s), fewer than perClass = {perClass}.", nameof(data));

            using var scope = NewDisposeScope();
            var pixels = data.Images.index_select(0, tensor(indices, device: data.Images.device))
                .mul(FashionMnist.Std).add(FashionMnist.Mean).clamp(0, 1).cpu().data<float>().ToArray();

            // Tile the images into one rows × columns canvas with a gap between them; NaN shows as background.
            int height = rows * side + (rows - 1) * gap, width = columns * side + (columns - 1) * gap;
            var canvas = new double[height][];
            for (int y = 0; y < height; y++) canvas[y] = Enumerable.Repeat(double.NaN, width).ToArray();
            for (int k = 0; k < indices.Length; k++)
            {
                int top = k / columns * (side + gap), left = k % columns * (side + gap);
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                        canvas[top + y][left + x] = pixels[k * side * side + y * side + x];
            }
            panels.Add(CSharpChart.Heatmap<double, int, int, string>(
                zData: canvas, ColorScale: StyleParam.Colorscale.Greys, ShowScale: false, ReverseYAxis: true,
                Name: classNames[c]));
        }
        int gridRows = (classNames.Count + 1) / 2;
        // Keep the pixels square: each panel is about 400 px wide, so its height follows the canvas's aspect ratio.
        double aspect = (double)(rows * side + (rows - 1) * gap) / (columns * side + (columns - 1) * gap);
        int panelHeight = (int)Math.Round(400 * aspect);
        return CSharpChart.Grid(panels, gridRows, 2, SubPlotTitles: classNames.ToArray())
            .WithSize(Width: 900, Height: gridRows * (panelHeight + 60) + 80)
            .WithTitleText($"The first {perClass} images of each class");
    }
}

using Microsoft.Data.Analysis;

namespace KnowledgeDistillation.Analysis;

/// <summary>A value measured at every point of a two-parameter grid (for example student accuracy over T × α).</summary>
/// <param name="RowName">The name of the row parameter (for example "T").</param>
/// <param name="Rows">The row parameter's values, top to bottom.</param>
/// <param name="ColumnName">The name of the column parameter (for example "alpha").</param>
/// <param name="Columns">The column parameter's values, left to right.</param>
/// <param name="ValueName">What was measured (for example "test accuracy").</param>
/// <param name="Values">The measurements [rows, columns]; NaN where not measured (yet).</param>
public sealed record GridResult(string RowName, IReadOnlyList<double> Rows, string ColumnName, IReadOnlyList<double> Columns, string ValueName, double[,] Values)
{
    /// <summary>The measured point with the highest value.</summary>
    /// <exception cref="InvalidOperationException">Nothing is measured yet.</exception>
    public (double Row, double Column, double Value) Best()
    {
        (double, double, double)? best = null;
        for (int i = 0; i < Rows.Count; i++)
            for (int j = 0; j < Columns.Count; j++)
                if (!double.IsNaN(Values[i, j]) && (best is null || Values[i, j] > best.Value.Item3))
                    best = (Rows[i], Columns[j], Values[i, j]);
        return best ?? throw new InvalidOperationException("The grid has no measured point yet.");
    }

    /// <summary>The value at row value <paramref name="row"/> and column value <paramref name="column"/>.</summary>
    /// <exception cref="ArgumentException">One of them is not on the grid.</exception>
    public double At(double row, double column)
    {
        int i = IndexOf(Rows, row, RowName), j = IndexOf(Columns, column, ColumnName);
        return Values[i, j];
    }

    /// <summary>The grid in long form: one row per point, with columns <see cref="RowName"/>, <see cref="ColumnName"/>, <see cref="ValueName"/>.</summary>
    public DataFrame ToDataFrame()
    {
        var points = Enumerable.Range(0, Rows.Count).SelectMany(i => Enumerable.Range(0, Columns.Count).Select(j => (i, j))).ToList();
        return new DataFrame(
            new PrimitiveDataFrameColumn<double>(RowName, points.Select(p => Rows[p.i])),
            new PrimitiveDataFrameColumn<double>(ColumnName, points.Select(p => Columns[p.j])),
            new PrimitiveDataFrameColumn<double>(ValueName, points.Select(p => Values[p.i, p.j])));
    }

    static int IndexOf(IReadOnlyList<double> values, double value, string name)
    {
        for (int i = 0; i < values.Count; i++)
            if (values[i] == value) return i;
        throw new ArgumentException($"{name} = {value} is not on the grid ({string.Join(", ", values)}).", name);
    }
}

/// <summary>Runs an experiment at every point of a two-parameter grid.</summary>
public static class ParameterGrid
{
    /// <summary>
    /// Calls <paramref name="evaluate"/>(row, column) for every pair, row by row, and collects the values. After each
    /// point, <paramref name="progress"/> (if any) gets the grid so far, with NaN where nothing is measured yet, so that
    /// a notebook can redraw a heatmap as the sweep runs.
    /// </summary>
    /// <exception cref="ArgumentException">A parameter list is empty or repeats a value.</exception>
    public static GridResult Run(string rowName, IReadOnlyList<double> rows, string columnName, IReadOnlyList<double> columns,
        Func<double, double, double> evaluate, string valueName = "value", Action<GridResult>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(evaluate);
        Check(rows, rowName);
        Check(columns, columnName);
        var values = new double[rows.Count, columns.Count];
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < columns.Count; j++)
                values[i, j] = double.NaN;
        var result = new GridResult(rowName, rows.ToList(), columnName, columns.ToList(), valueName, values);
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < columns.Count; j++)
            {
                values[i, j] = evaluate(rows[i], columns[j]);
                progress?.Invoke(result with { Values = (double[,])values.Clone() });
            }
        return result;
    }

    static void Check(IReadOnlyList<double> values, string name)
    {
        if (values.Count == 0) throw new ArgumentException($"The grid needs at least one value of {name}.", name);
        if (values.Distinct().Count() != values.Count) throw new ArgumentException($"The values of {name} repeat: {string.Join(", ", values)}.", name);
    }
}

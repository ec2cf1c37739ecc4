using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;

namespace KnowledgeDistillation.Notebooks;

/// <summary>How to run a notebook.</summary>
public sealed record NotebookRunOptions
{
    /// <summary>Sets <c>KD_QUICK=1</c> for the kernel: small data and few epochs.</summary>
    public bool Quick { get; init; }

    /// <summary>The longest one cell may run.</summary>
    public TimeSpan CellTimeout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>The libtorch the notebook loads: <see cref="TorchBackend.Cuda"/> switches its
    /// <c>#r "nuget: TorchSharp-cpu, V"</c> to TorchSharp's CUDA package before it runs (<see cref="NotebookBackend"/>);
    /// the executed copy shows the line that ran.</summary>
    public TorchBackend Backend { get; init; } = TorchBackend.Cpu;

    /// <summary>Where to write the executed copy (with outputs); none when null.</summary>
    public string? ExecutedPath { get; init; }

    /// <summary>Called after each cell.</summary>
    public Action<CellOutcome>? Progress { get; init; }

    /// <summary>The solutions to fill in for the exercises before the notebook runs (<see cref="NotebookSolutions.Solve"/>),
    /// as a teacher shows them; none when null.</summary>
    public IReadOnlyList<ExerciseSolution>? Solutions { get; init; }

    /// <summary>Code submitted to the same kernel after the notebook's last cell, when every cell succeeded (the harness
    /// submits each exercise with its solution and with known mistakes); their outcomes are
    /// <see cref="NotebookRunResult.AfterCells"/>.</summary>
    public IReadOnlyList<string> AfterCells { get; init; } = [];
}

/// <summary>What one cell did.</summary>
/// <param name="CellNumber">1-based position among all cells, as VS Code counts them.</param>
/// <param name="CodeCellNumber">1-based position among code cells.</param>
/// <param name="Error">The error, when the cell failed: compile errors, the exception, or an error output.</param>
/// <param name="Elapsed">How long the cell ran.</param>
/// <param name="Outputs">A short description of each output, for example <c>display_data{text/html}</c>.</param>
/// <param name="Text">What the cell printed and the plain-text form of the values it returned or displayed, in order.</param>
public sealed record CellOutcome(int CellNumber, int CodeCellNumber, string? Error, TimeSpan Elapsed, IReadOnlyList<string> Outputs, string Text = "")
{
    /// <summary>True when the cell ran without error.</summary>
    public bool Succeeded => Error is null;
}

/// <summary>The result of running one notebook.</summary>
/// <param name="NotebookPath">The notebook that ran.</param>
/// <param name="Cells">Each code cell that ran, in order; a run stops at the first failure.</param>
/// <param name="Elapsed">The whole run, kernel start included.</param>
/// <param name="ExecutedPath">The executed copy, if one was written.</param>
/// <param name="AfterCells">The outcome of each of <see cref="NotebookRunOptions.AfterCells"/> that ran (numbered from the
/// notebook's cell count + 1), in order; they are not part of the executed copy.</param>
public sealed record NotebookRunResult(string NotebookPath, IReadOnlyList<CellOutcome> Cells, TimeSpan Elapsed, string? ExecutedPath,
    IReadOnlyList<CellOutcome>? AfterCells = null)
{
    /// <summary>The first failing cell, if any.</summary>
    public CellOutcome? Failure => Cells.FirstOrDefault(c => !c.Succeeded);

    /// <summary>True when every cell ran without error.</summary>
    public bool Succeeded => Failure is null;

    /// <summary>"notebook: cell N (code cell M) failed: error", or null when the run succeeded.</summary>
    public string? FailureMessage => Failure is { } f
        ? $"{Path.GetFileName(NotebookPath)}: cell {f.CellNumber} (code cell {f.CodeCellNumber}) failed:{Environment.NewLine}{f.Error}"
        : null;
}

/// <summary>
/// Runs a Polyglot Notebook top to bottom in the <c>dotnet-interactive</c> tool that VS Code starts
/// (<see cref="InteractiveTool"/>), a fresh kernel process per notebook, sending each code cell as a <c>SubmitCode</c>
/// command over stdio with the notebook's folder as working directory, and stops at the first failing cell.
/// </summary>
public static class NotebookRunner
{
    /// <summary>The environment variable the library reads for quick mode (KnowledgeDistillation.Setup.KdEnvironment.QuickVariable).</summary>
    public const string QuickVariable = "KD_QUICK";

    /// <summary>The longest the kernel may take to start.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Runs <paramref name="notebookPath"/> and, when asked, writes the executed copy.</summary>
    /// <exception cref="FileNotFoundException">The notebook does not exist.</exception>
    /// <exception cref="InvalidOperationException">No tool manifest above the notebook, or the kernel did not start;
    /// the message says what to run.</exception>
    public static async Task<NotebookRunResult> RunAsync(string notebookPath, NotebookRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        notebookPath = Path.GetFullPath(notebookPath);
        string? executedPath = options.ExecutedPath is { } requested ? Path.GetFullPath(requested) : null;
        if (!File.Exists(notebookPath)) throw new FileNotFoundException($"Notebook not found: {notebookPath}", notebookPath);
        var clock = Stopwatch.StartNew();
        string json = NotebookBackend.ApplyToNotebook(await File.ReadAllTextAsync(notebookPath), options.Backend).Json;
        if (options.Solutions is { } solutions)
        {
            try
            {
                json = NotebookSolutions.Solve(json, solutions);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{Path.GetFileName(notebookPath)} and its solutions do not match: {e.Message}", e);
            }
        }
        var document = Notebook.Parse(json, new KernelInfoCollection { new Microsoft.DotNet.Interactive.Documents.KernelInfo("csharp", "C#", ["c#", "C#", "cs"]) });

        string folder = Path.GetDirectoryName(notebookPath)!;
        string manifestRoot = InteractiveTool.FindManifestRoot(folder) ?? InteractiveTool.FindManifestRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException(
                $"No .config/dotnet-tools.json above {folder} or {AppContext.BaseDirectory}: run notebooks from a clone of this repository, which pins the {InteractiveTool.CommandName} tool there.");
        var start = InteractiveTool.StartInfo(manifestRoot, folder);
        if (options.Quick) start.Environment[QuickVariable] = "1";
        else start.Environment.Remove(QuickVariable);
        await using var kernel = await StdioKernel.StartAsync(start, StartTimeout, InteractiveTool.RestoreHint(manifestRoot));

        var outcomes = new List<CellOutcome>();
        int cellNumber = 0, codeNumber = 0, executionCount = 0;
        foreach (var cell in document.Elements)
        {
            cell.Outputs.Clear();
            cell.ExecutionOrder = 0;
        }
        var collector = new OutputCollector();
        foreach (var cell in document.Elements)
        {
            cellNumber++;
            if (cell.KernelName == "markdown") continue;
            codeNumber++;
            if (string.IsNullOrWhiteSpace(cell.Contents)) continue;

            cell.ExecutionOrder = ++executionCount;
            var (outcome, outputs) = await RunCellAsync(kernel, cell, options.CellTimeout, collector, cellNumber, codeNumber, executionCount);
            foreach (var output in outputs) cell.Outputs.Add(output);
            outcomes.Add(outcome);
            options.Progress?.Invoke(outcome);
            if (!outcome.Succeeded) break;
        }

        if (executedPath is not null) WriteExecuted(document, json, executedPath);
        var after = new List<CellOutcome>();
        if (outcomes.All(o => o.Succeeded))
        {
            foreach (var code in options.AfterCells)
                after.Add((await RunCellAsync(kernel, new InteractiveDocumentElement(code, "csharp"), options.CellTimeout, collector,
                    ++cellNumber, ++codeNumber, ++executionCount)).Outcome);
        }
        return new NotebookRunResult(notebookPath, outcomes, clock.Elapsed, executedPath, after);
    }

    /// <summary>Submits one cell and collects what it did; an error without an error output gets one.</summary>
    static async Task<(CellOutcome Outcome, List<InteractiveDocumentOutputElement> Outputs)> RunCellAsync(StdioKernel kernel, InteractiveDocumentElement cell,
        TimeSpan timeout, OutputCollector collector, int cellNumber, int codeNumber, int executionCount)
    {
        collector.Reset();
        var clock = Stopwatch.StartNew();
        string? error = await SubmitAsync(kernel, cell, timeout, collector);
        var outputs = collector.Outputs(executionCount);
        if (error is not null && !outputs.OfType<ErrorElement>().Any())
            outputs.Add(new ErrorElement(error, "Error", error.Split('\n').Select(l => l.TrimEnd('\r')).ToArray()));
        return (new CellOutcome(cellNumber, codeNumber, error, clock.Elapsed, outputs.Select(Describe).ToList(), Text(outputs)), outputs);
    }

    /// <summary>The text of a cell's outputs: streams as printed, values and displays by their text/plain form.</summary>
    static string Text(IEnumerable<InteractiveDocumentOutputElement> outputs) => string.Concat(outputs.Select(o => o switch
    {
        TextElement t => t.Text,
        ReturnValueElement r when r.Data.TryGetValue("text/plain", out var v) => v + "\n",
        DisplayElement d when d.Data.TryGetValue("text/plain", out var v) => v + "\n",
        ErrorElement e => e.ErrorValue + "\n",
        _ => "",
    }));

    static async Task<string?> SubmitAsync(StdioKernel kernel, InteractiveDocumentElement cell, TimeSpan timeout, OutputCollector collector)
    {
        KernelMessage final;
        try
        {
            final = await kernel.SubmitCodeAsync(cell.Contents, cell.KernelName ?? "csharp", timeout, collector.Collect);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            return e.Message;
        }
        string? error = final.EventType == "CommandFailed"
            ? final.Event["message"]?.GetValue<string>() ?? "the cell failed"
            : collector.Errors.Count > 0 ? string.Join(Environment.NewLine, collector.Errors) : null;
        if (error is null) return null;
        // The failure message lists compile errors already; add any diagnostics it lacks.
        var missing = collector.Diagnostics.Where(d => !error.Contains(d, StringComparison.Ordinal)).ToList();
        return missing.Count == 0 ? error : string.Join(Environment.NewLine, missing.Append(error));
    }

    /// <summary>Writes nbformat 4 JSON in VS Code's layout: sorted keys would differ, so the writer's order is kept,
    /// but the source's <c>nbformat_minor</c> is restored (the writer stamps 5, which needs cell ids VS Code omits).</summary>
    static void WriteExecuted(InteractiveDocument document, string originalJson, string path)
    {
        var node = JsonNode.Parse(document.ToJupyterJson())!.AsObject();
        if (JsonNode.Parse(originalJson)?["nbformat_minor"] is { } minor) node["nbformat_minor"] = minor.GetValue<int>();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new JsonSerializerOptions { WriteIndented = true, IndentSize = 1, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        // Charts also as Plotly figures, which Jupyter viewers without .NET draw (NotebookCharts).
        File.WriteAllText(path, NotebookCharts.AddPlotlyFigures(node.ToJsonString(options) + "\n"));
    }

    static string Describe(InteractiveDocumentOutputElement e) => e switch
    {
        ReturnValueElement r => "execute_result{" + string.Join("|", r.Data.Keys) + "}",
        DisplayElement d => "display_data{" + string.Join("|", d.Data.Keys) + "}",
        TextElement t => "stream:" + t.Name,
        ErrorElement => "error",
        _ => e.GetType().Name,
    };

    /// <summary>Turns the kernel's events into notebook outputs, in order, merging consecutive chunks of one stream and
    /// replacing a displayed value where the kernel updates it.</summary>
    sealed class OutputCollector
    {
        readonly List<(string? Id, InteractiveDocumentOutputElement Element)> items = [];

        public List<string> Errors { get; } = [];
        public List<string> Diagnostics { get; } = [];

        public void Reset()
        {
            items.Clear();
            Errors.Clear();
            Diagnostics.Clear();
        }

        public List<InteractiveDocumentOutputElement> Outputs(int executionCount)
        {
            foreach (var (_, element) in items)
                if (element is ReturnValueElement r) r.ExecutionOrder = executionCount;
            return items.Select(i => i.Element).ToList();
        }

        public void Collect(KernelMessage message)
        {
            var e = message.Event;
            string? valueId = e["valueId"]?.GetValue<string>();
            switch (message.EventType)
            {
                case "StandardOutputValueProduced": AppendStream("stdout", PlainText(e)); break;
                case "StandardErrorValueProduced": AppendStream("stderr", PlainText(e)); break;
                case "ReturnValueProduced":
                    var value = new ReturnValueElement();
                    foreach (var (mime, text) in Formatted(e)) value.Data[mime] = text;
                    if (value.Data.Count > 0) items.Add((valueId, value));
                    break;
                case "DisplayedValueUpdated":
                    int index = valueId is null ? -1 : items.FindIndex(i => i.Id == valueId);
                    var updated = (valueId, (InteractiveDocumentOutputElement)new DisplayElement(Data(e)));
                    if (index >= 0) items[index] = updated; else items.Add(updated);
                    break;
                case "DisplayedValueProduced":
                    items.Add((valueId, new DisplayElement(Data(e))));
                    break;
                case "ErrorProduced":
                    string error = e["message"]?.GetValue<string>() ?? "error";
                    Errors.Add(error);
                    items.Add((null, new ErrorElement(error, "Error", [error])));
                    break;
                case "DiagnosticsProduced":
                    foreach (var d in e["diagnostics"]?.AsArray() ?? [])
                    {
                        if (!string.Equals(d?["severity"]?.ToString(), "error", StringComparison.OrdinalIgnoreCase)) continue;
                        string line = $"error {d?["code"]}: {d?["message"]}";
                        if (!Diagnostics.Contains(line)) Diagnostics.Add(line);
                    }
                    break;
            }
        }

        void AppendStream(string name, string text)
        {
            if (items.Count > 0 && items[^1].Element is TextElement last && last.Name == name)
                items[^1] = (null, new TextElement(last.Text + text, name));
            else
                items.Add((null, new TextElement(text, name)));
        }

        /// <summary>The event's formatted values (MIME type, text) that are meant to be shown, the last of each type.</summary>
        static IEnumerable<(string Mime, string Text)> Formatted(JsonObject e) =>
            (e["formattedValues"]?.AsArray() ?? [])
            .OfType<JsonObject>()
            .Where(v => v["suppressDisplay"]?.GetValue<bool>() != true && v["mimeType"] is not null)
            .Select(v => (Mime: v["mimeType"]!.GetValue<string>(), Text: v["value"]?.GetValue<string>() ?? ""))
            .GroupBy(v => v.Mime).Select(g => g.Last());

        static Dictionary<string, object> Data(JsonObject e) => Formatted(e).ToDictionary(v => v.Mime, v => (object)v.Text);

        static string PlainText(JsonObject e) =>
            Formatted(e).FirstOrDefault(v => v.Mime == "text/plain").Text ?? Formatted(e).FirstOrDefault().Text ?? "";
    }
}

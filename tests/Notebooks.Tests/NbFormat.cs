using System.Text.Json.Nodes;

namespace Notebooks.Tests;

/// <summary>
/// Checks a notebook against the nbformat 4 schema (jupyter/nbformat, nbformat.v4.schema.json): the required keys of
/// the notebook, each cell kind and each output kind, their types, and no keys the schema does not allow. What any
/// Jupyter viewer (GitHub, VS Code's Jupyter extension, nbviewer) needs in order to show the outputs without a kernel.
/// </summary>
static class NbFormat
{
    static readonly Dictionary<string, string[]> CellKeys = new()
    {
        ["code"] = ["id", "cell_type", "metadata", "source", "outputs", "execution_count"],
        ["markdown"] = ["id", "cell_type", "metadata", "source", "attachments"],
        ["raw"] = ["id", "cell_type", "metadata", "source", "attachments"],
    };

    static readonly Dictionary<string, string[]> OutputKeys = new()
    {
        ["stream"] = ["output_type", "name", "text"],
        ["display_data"] = ["output_type", "data", "metadata", "transient"],
        ["execute_result"] = ["output_type", "execution_count", "data", "metadata"],
        ["error"] = ["output_type", "ename", "evalue", "traceback"],
    };

    /// <summary>Every violation, "where: what"; empty when the notebook is valid.</summary>
    public static List<string> Errors(string json)
    {
        var errors = new List<string>();
        JsonObject nb;
        try
        {
            nb = JsonNode.Parse(json)!.AsObject();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            return [$"not a JSON object: {e.Message}"];
        }
        Unexpected("notebook", nb, ["metadata", "nbformat", "nbformat_minor", "cells"], errors);
        if (nb["nbformat"] is not JsonValue v || !v.TryGetValue<int>(out int major) || major != 4) errors.Add("notebook: nbformat must be 4");
        if (nb["nbformat_minor"] is not JsonValue m || !m.TryGetValue<int>(out int minor) || minor < 0) { errors.Add("notebook: nbformat_minor must be an integer ≥ 0"); minor = 0; }
        if (nb["metadata"] is not JsonObject) errors.Add("notebook: metadata must be an object");
        if (nb["cells"] is not JsonArray cells) { errors.Add("notebook: cells must be an array"); return errors; }

        int number = 0;
        foreach (var node in cells)
        {
            string where = $"cell {++number}";
            if (node is not JsonObject cell) { errors.Add($"{where}: not an object"); continue; }
            string? type = String(cell["cell_type"]);
            if (type is null || !CellKeys.TryGetValue(type, out var allowed)) { errors.Add($"{where}: cell_type '{type}' is not code, markdown or raw"); continue; }
            Unexpected(where, cell, allowed, errors);
            if (minor >= 5 && String(cell["id"]) is null) errors.Add($"{where}: nbformat 4.5 requires a cell id");
            if (cell["metadata"] is not JsonObject) errors.Add($"{where}: metadata must be an object");
            if (!IsMultiline(cell["source"])) errors.Add($"{where}: source must be a string or a list of strings");
            if (type != "code") continue;
            if (!cell.ContainsKey("execution_count") || !IsCountOrNull(cell["execution_count"])) errors.Add($"{where}: execution_count must be an integer or null");
            if (cell["outputs"] is not JsonArray outputs) { errors.Add($"{where}: outputs must be an array"); continue; }
            int o = 0;
            foreach (var outputNode in outputs)
                Output($"{where}, output {++o}", outputNode, errors);
        }
        return errors;
    }

    static void Output(string where, JsonNode? node, List<string> errors)
    {
        if (node is not JsonObject output) { errors.Add($"{where}: not an object"); return; }
        string? kind = String(output["output_type"]);
        if (kind is null || !OutputKeys.TryGetValue(kind, out var allowed)) { errors.Add($"{where}: output_type '{kind}' is unknown"); return; }
        Unexpected(where, output, allowed, errors);
        switch (kind)
        {
            case "stream":
                if (String(output["name"]) is not ("stdout" or "stderr")) errors.Add($"{where}: a stream's name must be stdout or stderr");
                if (!IsMultiline(output["text"])) errors.Add($"{where}: a stream's text must be a string or a list of strings");
                break;
            case "display_data" or "execute_result":
                if (output["data"] is not JsonObject data) errors.Add($"{where}: data must be an object");
                else
                    foreach (var (mime, value) in data)
                        if (!mime.Contains('/') || !(IsMultiline(value) || (mime.EndsWith("json", StringComparison.Ordinal) && value is JsonObject or JsonArray)))
                            errors.Add($"{where}: data['{mime}'] must be a MIME type with a string or a list of strings");
                if (output["metadata"] is not JsonObject) errors.Add($"{where}: metadata must be an object");
                if (kind == "execute_result" && !IsCountOrNull(output["execution_count"])) errors.Add($"{where}: execution_count must be an integer or null");
                break;
            case "error":
                if (String(output["ename"]) is null || String(output["evalue"]) is null) errors.Add($"{where}: ename and evalue must be strings");
                if (output["traceback"] is not JsonArray trace || trace.Any(t => String(t) is null)) errors.Add($"{where}: traceback must be a list of strings");
                break;
        }
    }

    static void Unexpected(string where, JsonObject obj, string[] allowed, List<string> errors)
    {
        foreach (var key in obj.Select(p => p.Key).Where(k => !allowed.Contains(k)))
            errors.Add($"{where}: '{key}' is not allowed here");
        foreach (var key in allowed.Where(k => k is not ("id" or "attachments" or "transient") && !obj.ContainsKey(k)))
            errors.Add($"{where}: '{key}' is required");
    }

    static string? String(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    static bool IsMultiline(JsonNode? node) => node switch
    {
        JsonValue v => v.TryGetValue<string>(out _),
        JsonArray a => a.All(l => String(l) is not null),
        _ => false,
    };

    static bool IsCountOrNull(JsonNode? node) => node is null || (node is JsonValue v && v.TryGetValue<int>(out int n) && n >= 0);
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace KnowledgeDistillation.Notebooks;

/// <summary>One event the kernel sent, as its JSON envelope says it: the event type, the event's body, and the token
/// of the command it belongs to.</summary>
/// <param name="EventType">For example <c>DisplayedValueProduced</c>, <c>CommandFailed</c>.</param>
/// <param name="Event">The event's JSON body.</param>
/// <param name="CommandToken">The token of the command that caused it, if any.</param>
public sealed record KernelMessage(string EventType, JsonObject Event, string? CommandToken);

/// <summary>
/// A kernel in its own process, spoken to over the .NET Interactive stdio protocol as VS Code speaks to it: one JSON
/// command envelope per line on standard input (<c>SubmitCode</c> for each cell), one JSON event envelope per line on
/// standard output, a <c>CommandSucceeded</c> or <c>CommandFailed</c> with the command's token at the end of each.
/// </summary>
/// <remarks>One command at a time, as a notebook runs its cells. Dispose to end the process and its children.</remarks>
public sealed class StdioKernel : IAsyncDisposable
{
    readonly Process process;
    readonly Channel<KernelMessage?> messages = Channel.CreateUnbounded<KernelMessage?>();
    readonly StringBuilder standardError = new();
    readonly Task reader;
    int nextToken;

    StdioKernel(Process process)
    {
        this.process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (standardError)
            {
                standardError.AppendLine(e.Data);
                if (standardError.Length > 64_000) standardError.Remove(0, standardError.Length - 32_000);
            }
        };
        process.BeginErrorReadLine();
        reader = Task.Run(ReadEventsAsync);
    }

    /// <summary>What the process wrote to standard error so far (the end of it, when it wrote much).</summary>
    public string StandardError
    {
        get { lock (standardError) return standardError.ToString(); }
    }

    /// <summary>Starts <paramref name="start"/> (which must redirect standard input, output and error) and waits until the
    /// kernel says it is ready.</summary>
    /// <exception cref="InvalidOperationException">The process ended, or was not ready in <paramref name="timeout"/>;
    /// the message quotes its standard error and adds <paramref name="startHint"/>.</exception>
    public static async Task<StdioKernel> StartAsync(ProcessStartInfo start, TimeSpan timeout, string startHint)
    {
        ArgumentNullException.ThrowIfNull(start);
        string command = $"{start.FileName} {string.Join(' ', start.ArgumentList)}";
        var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw new InvalidOperationException($"Could not start `{command}`: {e.Message}. {startHint}", e);
        }
        var kernel = new StdioKernel(process);
        using var cts = new CancellationTokenSource(timeout);
        bool outputEnded = false;
        try
        {
            while (true)
            {
                var message = await kernel.messages.Reader.ReadAsync(cts.Token);
                if (message is null)
                {
                    outputEnded = true;
                    break;
                }
                if (message.EventType == "KernelReady") return kernel;
            }
        }
        catch (OperationCanceledException)
        {
        }
        if (outputEnded && !process.HasExited)
        {
            // Its output ended first: the process is exiting; give the system a moment to report its exit code.
            using var exiting = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await process.WaitForExitAsync(exiting.Token); } catch (OperationCanceledException) { }
        }
        string why = process.HasExited ? $"it exited with code {process.ExitCode}"
            : outputEnded ? "it closed its output without becoming ready" : $"it was not ready after {timeout.TotalSeconds:0} s";
        string error = kernel.StandardError.Trim();
        await kernel.DisposeAsync();
        throw new InvalidOperationException(
            $"The notebook kernel did not start ({why}): `{command}`.{(error.Length > 0 ? $"{Environment.NewLine}{error}{Environment.NewLine}" : " ")}{startHint}");
    }

    /// <summary>
    /// Submits <paramref name="code"/> to the kernel <paramref name="kernelName"/>, passes every event of it to
    /// <paramref name="onEvent"/> as it comes, and returns the final one (<c>CommandSucceeded</c> or <c>CommandFailed</c>).
    /// </summary>
    /// <exception cref="TimeoutException">No final event in <paramref name="timeout"/> (the process is then ended).</exception>
    /// <exception cref="InvalidOperationException">The process ended before the command did.</exception>
    public async Task<KernelMessage> SubmitCodeAsync(string code, string kernelName, TimeSpan timeout, Action<KernelMessage> onEvent)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(onEvent);
        string token = $"kd-{++nextToken}";
        var envelope = new JsonObject
        {
            ["commandType"] = "SubmitCode",
            ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = kernelName },
            ["token"] = token,
        };
        await process.StandardInput.WriteLineAsync(envelope.ToJsonString());
        await process.StandardInput.FlushAsync();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var message = await messages.Reader.ReadAsync(cts.Token);
                if (message is null)
                    throw new InvalidOperationException($"The kernel process ended during the cell (exit code {ExitCode()}).{Tail()}");
                bool own = message.CommandToken == token;
                if (own && message.EventType is "CommandSucceeded" or "CommandFailed") return message;
                onEvent(message);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"The cell did not finish in {timeout.TotalMinutes:0.#} minutes; the kernel was stopped.");
        }
    }

    string ExitCode() => process.HasExited ? process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unknown";

    string Tail()
    {
        string error = StandardError.Trim();
        if (error.Length > 4_000) error = "…" + error[^4_000..];
        return error.Length > 0 ? $"{Environment.NewLine}{error}" : "";
    }

    async Task ReadEventsAsync()
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (Parse(line) is { } message) messages.Writer.TryWrite(message);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
        messages.Writer.TryWrite(null); // the end of the stream
    }

    /// <summary>An event envelope's type, body and command token; null for a line that is not an event envelope
    /// (the tool writes a few blank or non-JSON lines).</summary>
    public static KernelMessage? Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string trimmed = line.Trim();
        if (!trimmed.StartsWith('{')) return null;
        JsonObject? envelope;
        try
        {
            envelope = JsonNode.Parse(trimmed) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
        if (envelope?["eventType"]?.GetValue<string>() is not { } type) return null;
        var body = envelope["event"] as JsonObject ?? [];
        string? token = envelope["command"]?["token"]?.GetValue<string>();
        return new KernelMessage(type, body, token);
    }

    void Kill()
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Ends the kernel process and its children.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            process.StandardInput.Close();
        }
        catch (IOException)
        {
        }
        Kill();
        await process.WaitForExitAsync();
        await reader;
        process.Dispose();
    }
}

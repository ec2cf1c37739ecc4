using System.CommandLine;

namespace KnowledgeDistillation.Cli;

/// <summary>Exit codes and error handling shared by every command.</summary>
static class Cli
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>The command ran and failed (bad data, diverged training, missing files).</summary>
    public const int Failure = 1;
    /// <summary>The command line was wrong.</summary>
    public const int Usage = 2;

    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
            Console.Error.WriteLine("Run 'kd --help' or 'kd <command> --help' for the options.");
            return Usage;
        }
        try
        {
            return parse.Invoke();
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return Usage;
        }
    }

    /// <summary>Runs a command body, turning expected failures into a message and exit code 1.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return Usage;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or Training.TrainingDivergedException or OperationCanceledException)
        {
            Console.Error.WriteLine($"failed: {e.Message}");
            return Failure;
        }
    }
}

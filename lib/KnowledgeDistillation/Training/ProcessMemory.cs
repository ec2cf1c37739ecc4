using System.Diagnostics;

namespace KnowledgeDistillation.Training;

/// <summary>The process's resident memory (RSS).</summary>
public static class ProcessMemory
{
    /// <summary>Resident set size in megabytes (1 MB = 2^20 bytes), read fresh.</summary>
    public static double ResidentMegabytes()
    {
        if (OperatingSystem.IsLinux())
        {
            // /proc/self/statm: size resident shared ... in pages.
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1]) * Environment.SystemPageSize / 1048576.0;
        }
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64 / 1048576.0;
    }
}

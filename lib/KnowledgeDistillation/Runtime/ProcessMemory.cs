using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KnowledgeDistillation.Runtime;

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

    /// <summary>
    /// How much the process's peak resident memory (Linux <c>VmHWM</c>) rose while <paramref name="action"/> ran, in
    /// megabytes; NaN where the peak cannot be reset (not Linux, or <c>/proc/self/clear_refs</c> not writable).
    /// </summary>
    /// <remarks>
    /// <para>Free memory is first handed back (<see cref="ReleaseFreeMemory"/>), then the peak is reset to the current
    /// resident memory (writing <c>5</c> to <c>/proc/self/clear_refs</c>, Linux 4.0 and later), so the result is the
    /// highest point reached during the action minus the resident memory just before it.</para>
    /// <para>What it does not see: memory the allocator kept in spite of the release and reuses (so it
    /// can read low), and pages counted at a coarse granularity. What it sees besides
    /// the action's tensors: everything else the process touches meanwhile (the .NET runtime, other threads).</para>
    /// </remarks>
    public static double PeakGrowthMegabytes(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (!OperatingSystem.IsLinux())
        {
            action();
            return double.NaN;
        }
        ReleaseFreeMemory();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            action();
            return double.NaN;
        }
        long before = StatusKilobytes("VmRSS");
        action();
        long peak = StatusKilobytes("VmHWM");
        return (peak - before) / 1024.0;
    }

    /// <summary>
    /// Hands memory that is allocated but free back to the operating system, so that a following measurement starts from
    /// what is really in use: a full .NET garbage collection (which also finalises undisposed tensors), then, on Linux
    /// with glibc, <c>malloc_trim(0)</c>. Returns false where only the collection ran.
    /// </summary>
    public static bool ReleaseFreeMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            malloc_trim(UIntPtr.Zero);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (musl, for example)
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(UIntPtr pad);

    /// <summary>A <c>kB</c> field of <c>/proc/self/status</c>, such as <c>VmRSS</c> or <c>VmHWM</c>.</summary>
    static long StatusKilobytes(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]);
        throw new InvalidDataException($"/proc/self/status has no {field} line.");
    }
}

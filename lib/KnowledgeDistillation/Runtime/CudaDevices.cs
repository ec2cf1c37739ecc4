using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace KnowledgeDistillation.Runtime;

/// <summary>One CUDA device as the NVIDIA driver reports it.</summary>
/// <param name="Ordinal">The device's index, as in <c>cuda:N</c>. The driver numbers only the devices that
/// <c>CUDA_VISIBLE_DEVICES</c> leaves visible, in the same order as torch does.</param>
/// <param name="Name">The product name, for example "NVIDIA H200".</param>
/// <param name="TotalBytes">The device's memory, in bytes.</param>
/// <param name="ComputeMajor">The major compute capability, for example 9 for Hopper.</param>
/// <param name="ComputeMinor">The minor compute capability.</param>
/// <param name="FreeBytes">Free device memory, in bytes, or null when it could not be read.</param>
public sealed record CudaDevice(int Ordinal, string Name, long TotalBytes, int ComputeMajor, int ComputeMinor, long? FreeBytes)
{
    /// <summary>The compute capability as "major.minor", for example "9.0".</summary>
    public string ComputeCapability => $"{ComputeMajor}.{ComputeMinor}";

    /// <summary>"NVIDIA H200, 139.8 GiB (139.1 GiB free), compute capability 9.0".</summary>
    public override string ToString() => CudaDevices.Describe(this);
}

/// <summary>What the NVIDIA driver reported: its CUDA version and the devices, or why there are none.</summary>
/// <param name="Devices">The visible devices, in ordinal order; empty when there are none.</param>
/// <param name="DriverVersion">The newest CUDA version the driver supports, encoded as the driver API encodes it
/// (<c>1000 · major + 10 · minor</c>: 12080 is CUDA 12.8), or null when unknown.</param>
/// <param name="Reason">Why <paramref name="Devices"/> is empty or incomplete, for example
/// "no NVIDIA driver: libcuda.so.1 not found"; null when every device was read.</param>
public sealed record CudaDriverReport(IReadOnlyList<CudaDevice> Devices, int? DriverVersion, string? Reason)
{
    /// <summary>The driver's CUDA version as "12.8", or null when unknown.</summary>
    public string? CudaVersion => DriverVersion is { } v ? $"{v / 1000}.{v % 1000 / 10}" : null;
}

/// <summary>
/// The driver API calls <see cref="CudaDevices"/> makes. Each returns a <c>CUresult</c> (0 is success); the real
/// implementation calls the NVIDIA driver, the tests use fakes.
/// </summary>
internal interface ICudaDriver
{
    /// <summary><c>cuInit(0)</c>.</summary>
    int Init();

    /// <summary><c>cuDriverGetVersion</c>.</summary>
    int DriverVersion(out int version);

    /// <summary><c>cuDeviceGetCount</c>.</summary>
    int DeviceCount(out int count);

    /// <summary><c>cuDeviceGet</c>: the device handle of an ordinal.</summary>
    int Device(int ordinal, out int device);

    /// <summary><c>cuDeviceGetName</c>.</summary>
    int Name(int device, out string name);

    /// <summary><c>cuDeviceTotalMem_v2</c>.</summary>
    int TotalMemory(int device, out long bytes);

    /// <summary><c>cuDeviceGetAttribute</c>.</summary>
    int Attribute(int attribute, int device, out int value);

    /// <summary>Free memory through the device's primary context (the one torch uses too): retain it, make it current,
    /// <c>cuMemGetInfo_v2</c>, pop it and release it.</summary>
    int FreeMemory(int device, out long bytes);

    /// <summary>The driver's own name for an error code (<c>cuGetErrorName</c>), or null.</summary>
    string? ErrorName(int code);
}

/// <summary>
/// Lists the CUDA devices through the NVIDIA driver API (<c>libcuda.so.1</c> on Linux, <c>nvcuda.dll</c> on Windows),
/// independently of TorchSharp, whose API tells only whether CUDA is available and how many devices there are.
/// </summary>
/// <remarks>
/// <para>Nothing here throws: when there is no driver, or a call fails, the report says why in
/// <see cref="CudaDriverReport.Reason"/>. So <c>kd info</c> and notebook 00 can always print it, on any machine.</para>
/// <para>The driver is loaded with <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/> and called through delegates
/// made from its exports, so that a machine without it needs nothing and the library needs no unsafe code.</para>
/// </remarks>
public static class CudaDevices
{
    /// <summary><c>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR</c>.</summary>
    internal const int ComputeCapabilityMajor = 75;

    /// <summary><c>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR</c>.</summary>
    internal const int ComputeCapabilityMinor = 76;

    /// <summary>The CUDA version TorchSharp 0.107's CUDA packages are built for (TorchSharp's release notes, 0.106.0:
    /// "libtorch backend to v2.10.0, using CUDA 12.8"; 0.107.0 keeps it).</summary>
    public const string TorchSharpCudaVersion = "12.8";

    /// <summary>The driver library's file name on this operating system, or null where there is no CUDA (macOS).</summary>
    public static string? DriverLibrary =>
        OperatingSystem.IsWindows() ? "nvcuda.dll" : OperatingSystem.IsLinux() ? "libcuda.so.1" : null;

    /// <summary>Asks the NVIDIA driver for the CUDA devices. Never throws.</summary>
    public static CudaDriverReport Query()
    {
        if (DriverLibrary is not { } library)
            return new([], null, $"CUDA is not supported on {RuntimeInformation.OSDescription}");
        if (!NativeLibrary.TryLoad(library, out var handle))
            return new([], null, $"no NVIDIA driver: {library} not found");
        try
        {
            if (NativeCudaDriver.Bind(handle, out var missing) is not { } driver)
                return new([], null, $"the NVIDIA driver's {library} lacks {missing}; it is too old or not the driver's library");
            return Query(driver);
        }
        catch (Exception e)
        {
            return new([], null, $"querying the NVIDIA driver failed: {e.Message}");
        }
    }

    /// <summary>The device query itself, over any driver (the tests pass fakes).</summary>
    internal static CudaDriverReport Query(ICudaDriver driver)
    {
        int? version = driver.DriverVersion(out int v) == 0 ? v : null;
        int result = driver.Init();
        if (result != 0) return new([], version, Failed("cuInit", result, driver));
        result = driver.DeviceCount(out int count);
        if (result != 0) return new([], version, Failed("cuDeviceGetCount", result, driver));
        if (count == 0) return new([], version, "the NVIDIA driver sees no CUDA device" + VisibleDevicesHint());

        var devices = new List<CudaDevice>();
        for (int ordinal = 0; ordinal < count; ordinal++)
        {
            var (device, call, code) = ReadDevice(driver, ordinal);
            if (device is null) return new(devices, version, $"device {ordinal}: {Failed(call, code, driver)}");
            devices.Add(device);
        }
        return new(devices, version, null);
    }

    /// <summary>One device, or the call that failed and its error code.</summary>
    static (CudaDevice? Device, string Call, int Code) ReadDevice(ICudaDriver driver, int ordinal)
    {
        int r;
        if ((r = driver.Device(ordinal, out int handle)) != 0) return (null, "cuDeviceGet", r);
        if ((r = driver.Name(handle, out string name)) != 0) return (null, "cuDeviceGetName", r);
        if ((r = driver.TotalMemory(handle, out long total)) != 0) return (null, "cuDeviceTotalMem_v2", r);
        if ((r = driver.Attribute(ComputeCapabilityMajor, handle, out int major)) != 0) return (null, "cuDeviceGetAttribute", r);
        if ((r = driver.Attribute(ComputeCapabilityMinor, handle, out int minor)) != 0) return (null, "cuDeviceGetAttribute", r);
        // Free memory is a nicety: a failure (a device in exclusive mode held by another process) leaves it unknown.
        long? free = driver.FreeMemory(handle, out long bytes) == 0 ? bytes : null;
        return (new CudaDevice(ordinal, name, total, major, minor, free), "", 0);
    }

    static string Failed(string call, int code, ICudaDriver? driver) =>
        $"{call} failed with error {code} ({ErrorName(code, driver)}){Hint(code)}";

    /// <summary>The name of a driver API error code, for example 100 → "CUDA_ERROR_NO_DEVICE"; codes this table lacks are
    /// named by the driver when it can, else "unknown CUresult".</summary>
    internal static string ErrorName(int code, ICudaDriver? driver = null) =>
        ErrorNames.TryGetValue(code, out var name) ? name : driver?.ErrorName(code) ?? "unknown CUresult";

    /// <summary>The errors that initialisation and device queries return (cuda.h, enum cudaError_enum).</summary>
    static readonly Dictionary<int, string> ErrorNames = new()
    {
        [0] = "CUDA_SUCCESS",
        [1] = "CUDA_ERROR_INVALID_VALUE",
        [2] = "CUDA_ERROR_OUT_OF_MEMORY",
        [3] = "CUDA_ERROR_NOT_INITIALIZED",
        [4] = "CUDA_ERROR_DEINITIALIZED",
        [34] = "CUDA_ERROR_STUB_LIBRARY",
        [46] = "CUDA_ERROR_DEVICE_UNAVAILABLE",
        [100] = "CUDA_ERROR_NO_DEVICE",
        [101] = "CUDA_ERROR_INVALID_DEVICE",
        [102] = "CUDA_ERROR_DEVICE_NOT_LICENSED",
        [201] = "CUDA_ERROR_INVALID_CONTEXT",
        [304] = "CUDA_ERROR_OPERATING_SYSTEM",
        [800] = "CUDA_ERROR_NOT_PERMITTED",
        [801] = "CUDA_ERROR_NOT_SUPPORTED",
        [802] = "CUDA_ERROR_SYSTEM_NOT_READY",
        [803] = "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
        [804] = "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE",
        [999] = "CUDA_ERROR_UNKNOWN",
    };

    /// <summary>What to do about the errors people meet on a new machine.</summary>
    static string Hint(int code) => code switch
    {
        34 => ": the loaded libcuda is the CUDA toolkit's stub, not the NVIDIA driver's; install the driver",
        100 => ": no CUDA-capable device" + VisibleDevicesHint(),
        802 => ": the driver's services are not ready (on NVSwitch machines, is nvidia-fabricmanager running?)",
        803 => ": the driver's kernel module and its user-space library differ in version; reboot after a driver update",
        _ => "",
    };

    static string VisibleDevicesHint() =>
        Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") is { } visible
            ? $" (CUDA_VISIBLE_DEVICES is '{visible}')"
            : "";

    /// <summary>"NVIDIA H200, 139.8 GiB (139.1 GiB free), compute capability 9.0".</summary>
    public static string Describe(CudaDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        string free = device.FreeBytes is { } f ? $" ({Gibibytes(f)} free)" : "";
        return $"{device.Name}, {Gibibytes(device.TotalBytes)}{free}, compute capability {device.ComputeCapability}";
    }

    static string Gibibytes(long bytes) => (bytes / (double)(1L << 30)).ToString("F1", CultureInfo.InvariantCulture) + " GiB";

    /// <summary>
    /// The CUDA lines of the environment report, as (label, value) pairs: the driver, one line per device
    /// (<c>cuda:0  NVIDIA H200, 139.8 GiB, compute capability 9.0</c>) or why there is none, and a note when the driver
    /// sees GPUs that TorchSharp does not use.
    /// </summary>
    /// <param name="driver">What the driver reported.</param>
    /// <param name="torchCuda">Whether TorchSharp reports CUDA (<c>torch.cuda.is_available()</c>).</param>
    /// <param name="torchCudaLibraryLoaded">Whether TorchSharp's CUDA libtorch (libtorch_cuda) is loaded, that is,
    /// whether this is a TorchSharp-cuda build.</param>
    public static IReadOnlyList<(string Label, string Value)> ReportLines(CudaDriverReport driver, bool torchCuda, bool torchCudaLibraryLoaded)
    {
        ArgumentNullException.ThrowIfNull(driver);
        var lines = new List<(string, string)>();
        if (driver.Devices.Count == 0)
        {
            string version = driver.CudaVersion is { } v ? $"; the driver supports CUDA {v}" : "";
            lines.Add(("CUDA driver", $"no device ({driver.Reason ?? "no reason given"}{version})"));
            return lines;
        }
        lines.Add(("CUDA driver", driver.CudaVersion is { } cudaVersion ? $"supports CUDA {cudaVersion}" : "version unknown"));
        foreach (var device in driver.Devices)
            lines.Add(($"  cuda:{device.Ordinal}", Describe(device)));
        if (driver.Reason is { } reason)
            lines.Add(("  incomplete", reason));
        if (!torchCuda)
        {
            string gpus = driver.Devices.Count == 1 ? "1 GPU" : $"{driver.Devices.Count} GPUs";
            lines.Add(("  note", torchCudaLibraryLoaded
                ? $"the driver sees {gpus}, but TorchSharp's CUDA libtorch reports none: it needs a driver that supports CUDA {TorchSharpCudaVersion} (nvidia-smi shows the driver's)"
                : $"the driver sees {gpus}, but TorchSharp-cpu is in use: build with -p:TorchBackend=cuda (notebooks: kd notebooks run --backend cuda)"));
        }
        return lines;
    }

    /// <summary>Whether this process has loaded TorchSharp's CUDA libtorch (<c>libtorch_cuda.so</c> or
    /// <c>torch_cuda.dll</c>); TorchSharp loads it on the first CUDA query when its CUDA package is referenced.</summary>
    public static bool TorchCudaLibraryLoaded()
    {
        try
        {
            using var process = Process.GetCurrentProcess();
            return process.Modules.Cast<ProcessModule>().Any(m =>
                m.ModuleName.StartsWith("libtorch_cuda", StringComparison.Ordinal) ||
                m.ModuleName.Equals("torch_cuda.dll", StringComparison.OrdinalIgnoreCase));
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>The real driver: delegates over the exports of libcuda.so.1 or nvcuda.dll.</summary>
    sealed class NativeCudaDriver : ICudaDriver
    {
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int InitFn(uint flags);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int IntOutFn(out int value);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int DeviceGetFn(out int device, int ordinal);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int DeviceGetNameFn([Out] byte[] name, int length, int device);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int DeviceTotalMemFn(out nuint bytes, int device);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int DeviceGetAttributeFn(out int value, int attribute, int device);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int PrimaryCtxRetainFn(out nint context, int device);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int PrimaryCtxReleaseFn(int device);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int CtxPushFn(nint context);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int CtxPopFn(out nint context);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int MemGetInfoFn(out nuint free, out nuint total);
        [UnmanagedFunctionPointer(CallingConvention.Winapi)] delegate int GetErrorNameFn(int error, out nint name);

        // Required exports: Bind sets them all or returns null.
        InitFn init = null!;
        IntOutFn driverGetVersion = null!, deviceGetCount = null!;
        DeviceGetFn deviceGet = null!;
        DeviceGetNameFn deviceGetName = null!;
        DeviceTotalMemFn deviceTotalMem = null!;
        DeviceGetAttributeFn deviceGetAttribute = null!;
        // Optional: free memory and error names.
        PrimaryCtxRetainFn? primaryCtxRetain;
        PrimaryCtxReleaseFn? primaryCtxRelease;
        CtxPushFn? ctxPush;
        CtxPopFn? ctxPop;
        MemGetInfoFn? memGetInfo;
        GetErrorNameFn? getErrorName;

        /// <summary>The driver over <paramref name="handle"/>, or null with the first missing required export.</summary>
        public static NativeCudaDriver? Bind(nint handle, out string? missing)
        {
            string[] required = ["cuInit", "cuDriverGetVersion", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName", "cuDeviceTotalMem_v2", "cuDeviceGetAttribute"];
            missing = required.FirstOrDefault(name => !NativeLibrary.TryGetExport(handle, name, out _));
            if (missing is not null) return null;
            return new NativeCudaDriver
            {
                init = Get<InitFn>(handle, "cuInit")!,
                driverGetVersion = Get<IntOutFn>(handle, "cuDriverGetVersion")!,
                deviceGetCount = Get<IntOutFn>(handle, "cuDeviceGetCount")!,
                deviceGet = Get<DeviceGetFn>(handle, "cuDeviceGet")!,
                deviceGetName = Get<DeviceGetNameFn>(handle, "cuDeviceGetName")!,
                deviceTotalMem = Get<DeviceTotalMemFn>(handle, "cuDeviceTotalMem_v2")!,
                deviceGetAttribute = Get<DeviceGetAttributeFn>(handle, "cuDeviceGetAttribute")!,
                primaryCtxRetain = Get<PrimaryCtxRetainFn>(handle, "cuDevicePrimaryCtxRetain"),
                primaryCtxRelease = Get<PrimaryCtxReleaseFn>(handle, "cuDevicePrimaryCtxRelease_v2") ?? Get<PrimaryCtxReleaseFn>(handle, "cuDevicePrimaryCtxRelease"),
                ctxPush = Get<CtxPushFn>(handle, "cuCtxPushCurrent_v2"),
                ctxPop = Get<CtxPopFn>(handle, "cuCtxPopCurrent_v2"),
                memGetInfo = Get<MemGetInfoFn>(handle, "cuMemGetInfo_v2"),
                getErrorName = Get<GetErrorNameFn>(handle, "cuGetErrorName"),
            };
        }

        static T? Get<T>(nint handle, string name) where T : Delegate =>
            NativeLibrary.TryGetExport(handle, name, out var address) ? Marshal.GetDelegateForFunctionPointer<T>(address) : null;

        public int Init() => init(0);

        public int DriverVersion(out int version) => driverGetVersion(out version);

        public int DeviceCount(out int count) => deviceGetCount(out count);

        public int Device(int ordinal, out int device) => deviceGet(out device, ordinal);

        public int Name(int device, out string name)
        {
            var buffer = new byte[256];
            int result = deviceGetName(buffer, buffer.Length, device);
            int end = Array.IndexOf(buffer, (byte)0);
            name = result == 0 ? Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end) : "";
            return result;
        }

        public int TotalMemory(int device, out long bytes)
        {
            int result = deviceTotalMem(out nuint total, device);
            bytes = (long)total;
            return result;
        }

        public int Attribute(int attribute, int device, out int value) => deviceGetAttribute(out value, attribute, device);

        public int FreeMemory(int device, out long bytes)
        {
            bytes = 0;
            if (primaryCtxRetain is null || primaryCtxRelease is null || ctxPush is null || ctxPop is null || memGetInfo is null)
                return 801; // CUDA_ERROR_NOT_SUPPORTED: an old driver; free memory stays unknown.
            int result = primaryCtxRetain(out nint context, device);
            if (result != 0) return result;
            try
            {
                result = ctxPush(context);
                if (result != 0) return result;
                try
                {
                    result = memGetInfo(out nuint free, out _);
                    bytes = (long)free;
                    return result;
                }
                finally
                {
                    ctxPop(out _);
                }
            }
            finally
            {
                // Balances the retain: the context stays if torch holds it, and is destroyed if only we did.
                primaryCtxRelease(device);
            }
        }

        public string? ErrorName(int code) =>
            getErrorName is not null && getErrorName(code, out nint text) == 0 && text != 0 ? Marshal.PtrToStringAnsi(text) : null;
    }
}

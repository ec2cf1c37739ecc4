using System.Runtime.InteropServices;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Setup;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>The NVIDIA driver query behind <c>kd info</c>'s device lines: on this machine for real (it must never
/// throw), and with fake drivers and records for the error handling and the formatting.</summary>
public class CudaDevicesTests
{
    static readonly long H200Bytes = (long)(139.8 * (1L << 30));

    /// <summary>A driver that answers from a table of devices and fails the calls it is told to fail.</summary>
    sealed class FakeDriver(params (string Name, long Total, int Major, int Minor, long? Free)[] devices) : ICudaDriver
    {
        public int InitResult { get; init; }
        public int DriverVersionValue { get; init; } = 12080;
        public (int Ordinal, string Call, int Code)? Fail { get; init; }
        public Dictionary<int, string> Names { get; } = [];

        int Failing(int device, string call) => Fail is { } f && f.Ordinal == device && f.Call == call ? f.Code : 0;

        public int Init() => InitResult;
        public int DriverVersion(out int version) { version = DriverVersionValue; return 0; }
        public int DeviceCount(out int count) { count = devices.Length; return 0; }
        public int Device(int ordinal, out int device) { device = ordinal; return Failing(ordinal, "cuDeviceGet"); }
        public int Name(int device, out string name) { name = devices[device].Name; return Failing(device, "cuDeviceGetName"); }
        public int TotalMemory(int device, out long bytes) { bytes = devices[device].Total; return 0; }

        public int Attribute(int attribute, int device, out int value)
        {
            value = attribute == CudaDevices.ComputeCapabilityMajor ? devices[device].Major : devices[device].Minor;
            return 0;
        }

        public int FreeMemory(int device, out long bytes)
        {
            bytes = devices[device].Free ?? 0;
            return devices[device].Free is null ? 201 : 0;
        }

        public string? ErrorName(int code) => Names.GetValueOrDefault(code);
    }

    [Fact]
    public void Query_on_this_machine_never_throws_and_says_why_when_there_is_no_device()
    {
        var report = CudaDevices.Query();
        if (report.Devices.Count == 0)
            Assert.False(string.IsNullOrWhiteSpace(report.Reason), "no device and no reason");
        if (OperatingSystem.IsLinux() && !NativeLibrary.TryLoad("libcuda.so.1", out _))
            Assert.Equal("no NVIDIA driver: libcuda.so.1 not found", report.Reason);
        Assert.All(report.Devices, d => Assert.True(d.TotalBytes > 0 && d.ComputeMajor >= 3, d.ToString()));
    }

    [Fact]
    public void A_failing_cuInit_is_reported_with_the_error_number_and_name()
    {
        var report = CudaDevices.Query(new FakeDriver { InitResult = 100 });
        Assert.Empty(report.Devices);
        Assert.StartsWith("cuInit failed with error 100 (CUDA_ERROR_NO_DEVICE): no CUDA-capable device", report.Reason);
        Assert.Equal("12.8", report.CudaVersion);

        report = CudaDevices.Query(new FakeDriver { InitResult = 34 });
        Assert.StartsWith("cuInit failed with error 34 (CUDA_ERROR_STUB_LIBRARY): the loaded libcuda is the CUDA toolkit's stub", report.Reason);
    }

    [Fact]
    public void Devices_are_read_in_ordinal_order_and_free_memory_is_optional()
    {
        var report = CudaDevices.Query(new FakeDriver(("NVIDIA H200", H200Bytes, 9, 0, 1L << 30), ("NVIDIA A100-SXM4-40GB", 40L << 30, 8, 0, null)));
        Assert.Null(report.Reason);
        Assert.Equal(
            [new CudaDevice(0, "NVIDIA H200", H200Bytes, 9, 0, 1L << 30), new CudaDevice(1, "NVIDIA A100-SXM4-40GB", 40L << 30, 8, 0, null)],
            report.Devices);
    }

    [Fact]
    public void A_device_that_cannot_be_read_keeps_the_ones_before_it_and_names_the_call()
    {
        var report = CudaDevices.Query(new FakeDriver(("GPU A", 8L << 30, 8, 6, null), ("GPU B", 8L << 30, 8, 6, null)) { Fail = (1, "cuDeviceGetName", 101) });
        Assert.Single(report.Devices);
        Assert.Equal("device 1: cuDeviceGetName failed with error 101 (CUDA_ERROR_INVALID_DEVICE)", report.Reason);
    }

    [Fact]
    public void Error_codes_are_named_from_cuda_h_and_else_by_the_driver()
    {
        Assert.Equal("CUDA_SUCCESS", CudaDevices.ErrorName(0));
        Assert.Equal("CUDA_ERROR_NOT_INITIALIZED", CudaDevices.ErrorName(3));
        Assert.Equal("CUDA_ERROR_NO_DEVICE", CudaDevices.ErrorName(100));
        Assert.Equal("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", CudaDevices.ErrorName(803));
        Assert.Equal("unknown CUresult", CudaDevices.ErrorName(12345));
        var driver = new FakeDriver { Names = { [719] = "CUDA_ERROR_LAUNCH_FAILED" } };
        Assert.Equal("CUDA_ERROR_LAUNCH_FAILED", CudaDevices.ErrorName(719, driver));
        Assert.Equal("CUDA_ERROR_NO_DEVICE", CudaDevices.ErrorName(100, driver)); // the table first
    }

    [Fact]
    public void A_device_line_gives_name_memory_and_compute_capability()
    {
        var h200 = new CudaDevice(0, "NVIDIA H200", H200Bytes, 9, 0, null);
        Assert.Equal("NVIDIA H200, 139.8 GiB, compute capability 9.0", h200.ToString());
        Assert.Equal("NVIDIA H200, 139.8 GiB (1.5 GiB free), compute capability 9.0", (h200 with { FreeBytes = 3L << 29 }).ToString());

        var lines = CudaDevices.ReportLines(new CudaDriverReport([h200, h200 with { Ordinal = 1 }], 12080, null), torchCuda: true, torchCudaLibraryLoaded: true);
        Assert.Equal(
            [("CUDA driver", "supports CUDA 12.8"), ("  cuda:0", "NVIDIA H200, 139.8 GiB, compute capability 9.0"), ("  cuda:1", "NVIDIA H200, 139.8 GiB, compute capability 9.0")],
            lines);
    }

    [Fact]
    public void Without_a_device_the_report_says_why()
    {
        Assert.Equal([("CUDA driver", "no device (no NVIDIA driver: libcuda.so.1 not found)")],
            CudaDevices.ReportLines(new CudaDriverReport([], null, "no NVIDIA driver: libcuda.so.1 not found"), false, false));
        Assert.Equal([("CUDA driver", "no device (the NVIDIA driver sees no CUDA device; the driver supports CUDA 12.4)")],
            CudaDevices.ReportLines(new CudaDriverReport([], 12040, "the NVIDIA driver sees no CUDA device"), false, false));
    }

    [Fact]
    public void Gpus_that_TorchSharp_does_not_use_are_pointed_out_with_the_fix()
    {
        var driver = new CudaDriverReport([new CudaDevice(0, "NVIDIA H200", H200Bytes, 9, 0, null)], 12080, null);
        var cpuBuild = CudaDevices.ReportLines(driver, torchCuda: false, torchCudaLibraryLoaded: false);
        Assert.Equal("  note", cpuBuild[^1].Label);
        Assert.Equal("the driver sees 1 GPU, but TorchSharp-cpu is in use: build with -p:TorchBackend=cuda (notebooks: kd notebooks run --backend cuda)", cpuBuild[^1].Value);

        var oldDriver = CudaDevices.ReportLines(driver with { DriverVersion = 11080 }, torchCuda: false, torchCudaLibraryLoaded: true);
        Assert.Contains("TorchSharp's CUDA libtorch reports none: it needs a driver that supports CUDA 12.8", oldDriver[^1].Value);
        Assert.Equal(("CUDA driver", "supports CUDA 11.8"), oldDriver[0]);
    }

    [Fact]
    public void The_environment_report_shows_a_line_per_device_aligned_with_the_rest()
    {
        var report = KdEnvironment.Describe() with
        {
            CudaAvailable = true,
            CudaDevices = 1,
            CudaDriver = new CudaDriverReport([new CudaDevice(0, "NVIDIA H200", H200Bytes, 9, 0, null)], 12080, null),
            TorchCudaLibraryLoaded = true,
        };
        var lines = report.ToString().Split(Environment.NewLine);
        Assert.Contains("CUDA available                yes (1 device(s))", lines);
        Assert.Contains("CUDA driver                   supports CUDA 12.8", lines);
        Assert.Contains("  cuda:0                      NVIDIA H200, 139.8 GiB, compute capability 9.0", lines);
        Assert.DoesNotContain(lines, l => l.Contains("note"));
    }

    [Fact]
    public void On_this_machine_the_report_says_why_there_is_no_cuda_device()
    {
        var report = KdEnvironment.Describe();
        var text = report.ToString();
        Assert.Matches(@"CUDA driver\s+\S", text);
        if (report.CudaDriver.Devices.Count == 0)
            Assert.Contains($"no device ({report.CudaDriver.Reason}", text);
        Assert.Equal(cuda.is_available(), report.CudaAvailable);
    }
}

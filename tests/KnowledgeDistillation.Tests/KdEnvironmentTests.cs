using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Setup;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

public class KdEnvironmentTests
{
    [Fact]
    public void Quick_mode_follows_the_environment_variable()
    {
        var saved = Environment.GetEnvironmentVariable(KdEnvironment.QuickVariable);
        try
        {
            Environment.SetEnvironmentVariable(KdEnvironment.QuickVariable, null);
            Assert.False(KdEnvironment.QuickMode);
            Assert.Equal(10, KdEnvironment.Pick(full: 10, quick: 1));
            Environment.SetEnvironmentVariable(KdEnvironment.QuickVariable, "1");
            Assert.True(KdEnvironment.QuickMode);
            Assert.Equal(1, KdEnvironment.Pick(full: 10, quick: 1));
            Environment.SetEnvironmentVariable(KdEnvironment.QuickVariable, "0");
            Assert.False(KdEnvironment.QuickMode);
        }
        finally
        {
            Environment.SetEnvironmentVariable(KdEnvironment.QuickVariable, saved);
        }
    }

    [Fact]
    public void Auto_picks_cuda_exactly_when_available()
    {
        var expected = cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU;
        Assert.Equal(expected, Devices.Resolve("auto").type);
        Assert.Equal(DeviceType.CPU, Devices.Resolve("CPU").type);
    }

    [Fact]
    public void Bad_device_names_are_rejected_clearly()
    {
        var e = Assert.Throws<ArgumentException>(() => Devices.Resolve("tpu"));
        Assert.Contains("tpu", e.Message);
        if (!cuda.is_available())
            Assert.Contains("not available", Assert.Throws<ArgumentException>(() => Devices.Resolve("cuda")).Message);
    }

    [Fact]
    public void Describe_reports_versions_and_a_valid_dataset()
    {
        var report = KdEnvironment.Describe();
        Assert.Equal("0.107.0", report.TorchSharp);
        Assert.StartsWith("2.10.0", report.LibTorch);
        Assert.True(report.Threads >= 1);
        Assert.True(report.DataValid);
        Assert.Contains("TorchSharp", report.ToString());
    }
}

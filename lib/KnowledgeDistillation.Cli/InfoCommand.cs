using System.CommandLine;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Setup;

namespace KnowledgeDistillation.Cli;

/// <summary><c>kd info</c>: versions, threads, CUDA (TorchSharp's view, and each GPU as the NVIDIA driver reports it),
/// the device <c>auto</c> picks, and the dataset's state.</summary>
static class InfoCommand
{
    public static Command Create()
    {
        var noLoad = new Option<bool>("--no-load") { Description = "Skip timing a full load of the 70,000 Fashion-MNIST images." };
        var command = new Command("info", "Print the .NET, TorchSharp and libtorch versions, threads, CUDA and each GPU (name, memory, compute capability), the auto device and the dataset's state.")
        {
            noLoad,
        };
        command.SetAction(parse => Run(!parse.GetValue(noLoad)));
        return command;
    }

    static int Run(bool timeLoad)
    {
        var report = KdEnvironment.Describe();
        Console.WriteLine(report);

        // A tiny computation proves that the native library works, not only that it loaded.
        using (var x = TorchSharp.torch.arange(1, 5, dtype: TorchSharp.torch.ScalarType.Float32))
            Console.WriteLine($"{"torch check",-14}  sum(1..4) = {x.sum().item<float>()}");

        if (!report.DataValid)
        {
            Console.WriteLine($"{"dataset state",-14}  INVALID: see the lines above; datasets/fashion-mnist/README.md says how to get the files.");
            return 1;
        }
        Console.WriteLine($"{"dataset state",-14}  valid");
        if (timeLoad)
        {
            int count = 0;
            double seconds = KdEnvironment.Time(() =>
            {
                using var train = FashionMnist.Load(Split.Train);
                using var test = FashionMnist.Load(Split.Test);
                count = train.Count + test.Count;
            });
            Console.WriteLine($"{"dataset load",-14}  {count:N0} images in {seconds:F2} s (decompress, validate, normalise)");
        }
        return 0;
    }
}

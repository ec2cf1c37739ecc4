using System.CommandLine;
using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Cli;

/// <summary><c>kd train-teacher</c>: trains a model on the hard labels and saves it with a manifest.</summary>
static class TrainTeacherCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model("The architecture to train.", "cnn-teacher");
        var training = new TrainingOptionGroup(epochs: 15, learningRate: 1e-3);
        var output = new Option<string>("--out") { Description = "Folder for NAME.bin and NAME.json.", DefaultValueFactory = _ => Pretrained.DefaultDirectory };
        var name = new Option<string?>("--name") { Description = "File stem; the model's name when omitted." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Write a checkpoint here after every epoch, and resume from it if it exists." };
        var command = new Command("train-teacher", "Train a model on the hard labels (a teacher, or a student from scratch) and save its weights and manifest.")
        {
            model,
        };
        foreach (var option in training.All) command.Options.Add(option);
        foreach (var option in new Option[] { output, name, checkpoint }) command.Options.Add(option);
        command.SetAction(parse => Cli.Guard(() =>
        {
            string modelName = parse.GetValue(model)!;
            var options = (training.Read(parse) with
            {
                CheckpointPath = parse.GetValue(checkpoint), Resume = parse.GetValue(checkpoint) is not null,
            }).Validate();
            using var fullTrain = FashionMnist.Load(Split.Train);
            using var test = FashionMnist.Load(Split.Test);
            using var train = parse.GetValue(training.Subset) is { } n ? fullTrain.BalancedSubset(n, options.Seed) : fullTrain.BalancedSubset(fullTrain.Count, options.Seed);

            manual_seed(options.Seed);
            var network = ModelZoo.Create(modelName);
            Console.Error.WriteLine($"training {modelName} on {train.Count:N0} images, {options.Epochs} epochs, device {Devices.Resolve(options.Device)}: " +
                                    ModelSize.Describe(network));
            var clock = Stopwatch.StartNew();
            var progress = new ConsoleProgress(modelName);
            var result = Trainer.Train(network, train, test, options, new TrainingCallbacks { Progress = progress.Report });
            var manifest = Pretrained.Save(network, new ModelManifest(
                parse.GetValue(name) ?? modelName, modelName, "kd " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)),
                options.Seed, options.Epochs, result.Final.Accuracy, result.Final.Loss, result.Final.Ece,
                ModelSize.ParameterCount(network), "", typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3) ?? "?",
                Math.Round(clock.Elapsed.TotalSeconds, 1)), parse.GetValue(output));
            Console.WriteLine($"{manifest.Name}: test accuracy {manifest.TestAccuracy:P2}, loss {manifest.TestLoss:F4}, ECE {manifest.TestEce:F4}; " +
                              $"saved to {Path.Combine(parse.GetValue(output)!, manifest.Name)}.bin (sha256 {manifest.Sha256[..12]}…)");
            return Cli.Ok;
        }));
        return command;
    }
}

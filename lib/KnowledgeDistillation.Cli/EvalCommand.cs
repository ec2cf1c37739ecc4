using System.CommandLine;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli;

/// <summary><c>kd eval</c>: evaluates a saved model on the test set.</summary>
static class EvalCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "A model saved with a manifest, for example cnn-teacher." };
        var directory = new Option<string>("--model-dir") { Description = "Where NAME.bin and NAME.json are (as --teacher-dir of distill and reproduce).", DefaultValueFactory = _ => Pretrained.DefaultDirectory };
        var device = CommonOptions.Device();
        var command = new Command("eval", "Evaluate a saved model on the 10,000 test images: accuracy, loss, calibration error and confusion matrix.")
        {
            name, directory, device,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var (model, manifest) = Pretrained.Load(parse.GetValue(name)!, parse.GetValue(directory), Devices.Resolve(parse.GetValue(device)!));
            using var test = FashionMnist.Load(Split.Test);
            var result = Evaluator.Evaluate(model, test);
            Console.WriteLine($"{manifest.Name} ({manifest.Model}): accuracy {result.Accuracy:P2}, loss {result.Loss:F4}, ECE {result.Ece:F4} on {result.Count:N0} images");
            Console.WriteLine($"manifest says accuracy {manifest.TestAccuracy:P2}; trained with: {manifest.Command}");
            Console.WriteLine();
            Console.WriteLine("confusion matrix (rows: true class, columns: predicted)");
            Console.WriteLine(new string(' ', 13) + string.Concat(Enumerable.Range(0, 10).Select(j => $" {j,5}")));
            for (int i = 0; i < 10; i++)
                Console.WriteLine($"{FashionMnist.ClassNames[i],-13} " + string.Concat(Enumerable.Range(0, 10).Select(j => $"{result.Confusion[i, j],6}")));
            return Cli.Ok;
        }));
        return command;
    }
}

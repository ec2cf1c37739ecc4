using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Tables;
using KnowledgeDistillation.Training;
using Microsoft.Data.Analysis;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Cli;

/// <summary><c>kd distill</c>: distils a pretrained teacher into a fresh student with one method.</summary>
static class DistillCommand
{
    /// <summary>What <c>summary.json</c> holds.</summary>
    sealed record Summary(
        string Method, string Objective, string Teacher, string TeacherModel, string TeacherSha256, double TeacherTestAccuracy,
        string Student, long StudentParameters, double T, double Alpha, double? FeatureWeight, int TrainImages, int Epochs,
        int BatchSize, string Optimizer, double LearningRate, string Schedule, double WeightDecay, long Seed, string Device,
        string Precision, bool CachedTeacherOutputs, double TestAccuracy, double TestLoss, double TestEce, double Seconds, string Command);

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var method = MethodOption();
        var teacher = new Option<string>("--teacher") { Description = "The pretrained teacher's name (NAME.bin and NAME.json in --teacher-dir).", DefaultValueFactory = _ => "cnn-teacher" };
        var teacherDir = TeacherDirectory();
        var student = CommonOptions.Model("The student's architecture, created fresh (seeded with --seed).", "cnn-student", "--student");
        var T = Temperature(4);
        var alpha = Alpha(0.9);
        var weight = new Option<double?>("--weight") { Description = "Weight of the method's feature or logit term (not kd). Default per method: " + DefaultWeights() + "." };
        weight.Validators.Add(r => { if (r.GetValueOrDefault<double?>() is { } w && !(w >= 0 && double.IsFinite(w))) r.AddError("--weight must be a finite number >= 0."); });
        var training = new TrainingOptionGroup(epochs: 10, learningRate: 5e-3);
        var output = new Option<string?>("--out") { Description = "Folder for history.csv, student.bin and summary.json; artifacts/distill/METHOD when omitted." };
        var noCache = new Option<bool>("--no-cache") { Description = "Run the teacher on every batch instead of caching its outputs once (same result, slower; for experiments with augmentation)." };
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "The checkpoint written after every epoch (the student, a FitNets regressor, the optimiser, the generators); a run started again with the same " +
                          "arguments resumes from it and ends as an uninterrupted run would. Deleted when the run finishes. Default: checkpoint.ckpt in --out.",
        };
        var command = new Command("distill", "Distil a pretrained teacher into a fresh student with one method, and save the student, its history and a summary.")
        {
            method, teacher, teacherDir, student, T, alpha, weight,
        };
        foreach (var option in training.All) command.Options.Add(option);
        foreach (var option in new Option[] { output, noCache, checkpoint }) command.Options.Add(option);
        command.SetAction(parse => Cli.Guard(() =>
        {
            var m = DistillationMethods.Parse(parse.GetValue(method)!);
            var settings = new MethodSettings { T = parse.GetValue(T), Alpha = parse.GetValue(alpha), FeatureWeight = parse.GetValue(weight) };
            if (m == DistillationMethod.Kd && settings.FeatureWeight is not null)
                throw new ArgumentException("--weight does not apply to --method kd: its soft term is weighted by --alpha.");
            string outDir = parse.GetValue(output) ?? Path.Combine(RepoPaths.Root ?? Directory.GetCurrentDirectory(), "artifacts", "distill", DistillationMethods.Name(m).Replace('+', '-'));
            string checkpointPath = Path.GetFullPath(parse.GetValue(checkpoint) ?? Path.Combine(outDir, "checkpoint.ckpt"));
            var options = (training.Read(parse) with { CacheTeacherOutputs = !parse.GetValue(noCache), CheckpointPath = checkpointPath, Resume = true }).Validate();
            string studentName = parse.GetValue(student)!;
            var resolved = Devices.Resolve(options.Device);

            var (teacherModel, manifest) = Pretrained.Load(parse.GetValue(teacher)!, parse.GetValue(teacherDir), resolved);
            using var fullTrain = FashionMnist.Load(Split.Train);
            using var test = FashionMnist.Load(Split.Test);
            using var subsetImages = parse.GetValue(training.Subset) is { } n ? fullTrain.BalancedSubset(n, options.Seed) : null;
            var train = subsetImages ?? fullTrain;

            var network = Reproduction.NewStudent(studentName, options.Seed);
            var objective = DistillationMethods.Build(m, network, teacherModel, settings);
            Console.Error.WriteLine($"distilling {manifest.Name} ({manifest.Model}, test accuracy {manifest.TestAccuracy:P2}) into {studentName} " +
                                    $"on {train.Count:N0} images, {options.Epochs} epochs, device {resolved}");
            Console.Error.WriteLine($"method {DistillationMethods.Name(m)}: {DistillationMethods.Describe(objective)}" +
                                    (m is DistillationMethod.Kd or DistillationMethod.KdRkd ? $" (T = {settings.T.ToString(CultureInfo.InvariantCulture)})" : ""));
            if (File.Exists(checkpointPath))
                Console.Error.WriteLine($"resuming after epoch {Checkpoint.ReadState(checkpointPath).Epoch} from {checkpointPath}");
            var clock = Stopwatch.StartNew();
            var progress = new ConsoleProgress(DistillationMethods.Name(m));
            var result = Trainer.Distill(network, teacherModel, objective, train, test, options, new TrainingCallbacks { Progress = progress.Report });
            File.Delete(checkpointPath); // the run is finished: what follows is written from its result

            Directory.CreateDirectory(outDir);
            DataFrame.SaveCsv(result.ToDataFrame(), Path.Combine(outDir, "history.csv"), cultureInfo: CultureInfo.InvariantCulture);
            string weights = Path.Combine(outDir, "student.bin");
            network.save(weights + ".tmp");
            File.Move(weights + ".tmp", weights, overwrite: true);
            var summary = new Summary(DistillationMethods.Name(m), DistillationMethods.Describe(objective), manifest.Name, manifest.Model, manifest.Sha256,
                manifest.TestAccuracy, studentName, ModelSize.ParameterCount(network), settings.T, settings.Alpha,
                settings.FeatureWeight ?? DistillationMethods.DefaultWeight(m), train.Count, options.Epochs, options.BatchSize,
                options.Optimizer.ToString().ToLowerInvariant(), options.LearningRate, options.Schedule.ToString().ToLowerInvariant(), options.WeightDecay,
                options.Seed, resolved.ToString(), options.Precision.ToString().ToLowerInvariant(), options.CacheTeacherOutputs, result.Final.Accuracy, result.Final.Loss, result.Final.Ece,
                Math.Round(clock.Elapsed.TotalSeconds, 1), "kd " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)));
            File.WriteAllText(Path.Combine(outDir, "summary.json"), JsonSerializer.Serialize(summary, Json) + "\n");
            Console.WriteLine($"{studentName} distilled with {DistillationMethods.Name(m)}: test accuracy {result.Final.Accuracy:P2}, loss {result.Final.Loss:F4}, " +
                              $"ECE {result.Final.Ece:F4} (teacher {manifest.TestAccuracy:P2}); {clock.Elapsed.TotalSeconds:F0} s; saved to {outDir}");
            return Cli.Ok;
        }));
        return command;
    }

    /// <summary><c>--method</c>, validated at parse time so that a wrong name is exit code 2 with the valid names.</summary>
    public static Option<string> MethodOption()
    {
        var option = new Option<string>("--method") { Description = $"The distillation method: {string.Join(", ", DistillationMethods.Names)}.", DefaultValueFactory = _ => "kd" };
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (!DistillationMethods.TryParse(v, out _)) r.AddError(DistillationMethods.UnknownMessage(v));
        });
        return option;
    }

    public static Option<string> TeacherDirectory() =>
        new("--teacher-dir") { Description = "Where the pretrained teacher's NAME.bin and NAME.json are.", DefaultValueFactory = _ => Pretrained.DefaultDirectory };

    public static Option<double> Temperature(double defaultValue)
    {
        var option = new Option<double>("--T") { Description = "Temperature of the soft targets (kd, kd+rkd).", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() > 0 && double.IsFinite(r.GetValueOrDefault<double>()))) r.AddError("--T must be a finite number > 0."); });
        return option;
    }

    public static Option<double> Alpha(double defaultValue)
    {
        var option = new Option<double>("--alpha") { Description = "Weight of the soft term; the hard labels get 1 - alpha (kd, kd+rkd).", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r => { if (!(r.GetValueOrDefault<double>() is >= 0 and <= 1)) r.AddError("--alpha must be in [0, 1]."); });
        return option;
    }

    static string DefaultWeights() => string.Join(", ", DistillationMethods.All.Where(m => DistillationMethods.DefaultWeight(m) is not null)
        .Select(m => $"{DistillationMethods.Name(m)} {DistillationMethods.DefaultWeight(m)!.Value.ToString("0.###", CultureInfo.InvariantCulture)}"));
}

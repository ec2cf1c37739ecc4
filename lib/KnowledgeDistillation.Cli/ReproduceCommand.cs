using KnowledgeDistillation.Models;
using System.CommandLine;
using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Runtime;
using KnowledgeDistillation.Training;

namespace KnowledgeDistillation.Cli;

/// <summary><c>kd reproduce</c>: the experiment table of every method against the scratch student, in two label regimes.</summary>
static class ReproduceCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "The quick table for a laptop CPU: 5,000 images for 4 epochs and 1,000 images for 20 epochs, 2,000 test images. Without it: all 60,000 images for 20 epochs and 1,000 for 30, all 10,000 test images (for a GPU)." };
        var retrain = new Option<bool>("--retrain-teacher") { Description = "Train the teacher here (15 epochs; 2 epochs on 10,000 images with --quick) instead of loading the pretrained one." };
        var teacher = new Option<string>("--teacher") { Description = "The pretrained teacher's name, or the architecture to retrain.", DefaultValueFactory = _ => "cnn-teacher" };
        var teacherDir = DistillCommand.TeacherDirectory();
        var output = new Option<string?>("--out") { Description = "Folder for results.csv, results.md and results.html; artifacts/reproduce when omitted." };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per method: 0, 1, ..., N-1.", DefaultValueFactory = _ => 3 };
        seeds.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--seeds must be at least 1."); });
        var device = CommonOptions.Device();
        var methods = new Option<string?>("--methods") { Description = $"Comma-separated methods to run (the scratch student always runs); all when omitted: {string.Join(",", DistillationMethods.Names)}." };
        methods.Validators.Add(r =>
        {
            foreach (var name in (r.GetValueOrDefault<string?>() ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (!DistillationMethods.TryParse(name, out _)) r.AddError(DistillationMethods.UnknownMessage(name));
        });
        var T = new Option<double?>("--T") { Description = $"Temperature for kd and kd+rkd (default {ReproductionSettings.Full.Method.T})." };
        var alpha = new Option<double?>("--alpha") { Description = $"Soft-term weight for kd and kd+rkd (default {ReproductionSettings.Full.Method.Alpha})." };
        var lr = new Option<double?>("--lr") { Description = $"Learning rate (default {ReproductionSettings.Full.Training.LearningRate})." };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs of every student run, in both regimes (default: the preset's, printed at the start)." };
        var cacheDir = new Option<string?>("--cache") { Description = "The folder of finished runs to reuse and add to; artifacts/run-cache when omitted." };
        var noCache = new Option<bool>("--no-cache")
        {
            Description = "Train every run again instead of reusing finished runs from artifacts/run-cache (runs with the same settings, seed, teacher, data, code, " +
                          "device and thread count give the same bits, so they are reused by default); the new results replace the stored ones.",
        };
        T.Validators.Add(r => { if (r.GetValueOrDefault<double?>() is { } v && !(v > 0 && double.IsFinite(v))) r.AddError("--T must be a finite number > 0."); });
        alpha.Validators.Add(r => { if (r.GetValueOrDefault<double?>() is { } v && !(v is >= 0 and <= 1)) r.AddError("--alpha must be in [0, 1]."); });
        lr.Validators.Add(r => { if (r.GetValueOrDefault<double?>() is { } v && !(v > 0 && double.IsFinite(v))) r.AddError("--lr must be > 0."); });
        epochs.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--epochs must be at least 1."); });

        var command = new Command("reproduce",
            "Run the experiment table: the teacher, the student from scratch and the student with each distillation method, " +
            "with all labels and with 1,000 labels, over several seeds; print it and write results.csv, results.md and results.html.")
        {
            quick, retrain, teacher, teacherDir, output, seeds, device, methods, T, alpha, lr, epochs, cacheDir, noCache,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var preset = parse.GetValue(quick) ? ReproductionSettings.Quick : ReproductionSettings.Full;
            var settings = preset with
            {
                Seeds = [.. Enumerable.Range(0, parse.GetValue(seeds)).Select(i => (long)i)],
                Methods = parse.GetValue(methods) is { } list
                    ? [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(DistillationMethods.Parse)]
                    : preset.Methods,
                Method = preset.Method with { T = parse.GetValue(T) ?? preset.Method.T, Alpha = parse.GetValue(alpha) ?? preset.Method.Alpha },
                Training = preset.Training with { Device = parse.GetValue(device)!, LearningRate = parse.GetValue(lr) ?? preset.Training.LearningRate },
                Regimes = parse.GetValue(epochs) is { } e ? [.. preset.Regimes.Select(r => r with { Epochs = e })] : preset.Regimes,
            };
            string outDir = parse.GetValue(output) ?? Path.Combine(RepoPaths.Root ?? Directory.GetCurrentDirectory(), "artifacts", "reproduce");
            var clock = Stopwatch.StartNew();
            var resolved = Devices.Resolve(settings.Training.Device);
            Console.WriteLine($"kd reproduce{(parse.GetValue(quick) ? " --quick" : "")} on {resolved}");
            foreach (var line in Reproduction.DescribeSettings(settings)) Console.WriteLine($"  {line}");

            using var train = FashionMnist.Load(Split.Train);
            using var test = FashionMnist.Load(Split.Test);
            string teacherName = parse.GetValue(teacher)!;
            FeatureModel teacherModel;
            string teacherLabel;
            int? teacherImages = null;
            if (parse.GetValue(retrain))
            {
                Console.WriteLine($"  retraining {teacherName}: {settings.TeacherEpochs} epochs on {(settings.TeacherImages is { } ti ? $"{ti:N0}" : $"{train.Count:N0}")} images");
                var progress = new ConsoleProgress(teacherName);
                teacherModel = Reproduction.TrainTeacher(teacherName, train, test, settings, new TrainingCallbacks { Progress = progress.Report });
                teacherLabel = $"{teacherName} (retrained, {settings.TeacherEpochs} epochs)";
                teacherImages = settings.TeacherImages is { } ti2 && ti2 < train.Count ? ti2 : train.Count;
            }
            else
            {
                var (model, manifest) = Pretrained.Load(teacherName, parse.GetValue(teacherDir), resolved);
                teacherModel = model;
                teacherLabel = $"{manifest.Name} (pretrained, {manifest.Epochs} epochs, sha256 {manifest.Sha256[..12]})";
            }
            Console.WriteLine($"  teacher: {teacherLabel}");
            Console.WriteLine();

            int total = settings.Regimes.Count * settings.Seeds.Count * (settings.Methods.Count + 1), done = 0;
            var cache = parse.GetValue(cacheDir) is { } chosen ? new RunCache(chosen)
                : RunCache.Default ?? new RunCache(Path.Combine(Directory.GetCurrentDirectory(), "artifacts", "run-cache"));
            if (parse.GetValue(noCache)) cache = new RunCache(cache.Directory) { Reuse = false };
            Console.WriteLine(parse.GetValue(noCache)
                ? $"  --no-cache: every run is trained; results are stored in {cache.Directory}"
                : $"  finished runs are reused from {cache.Directory} (--no-cache trains them again)");
            var report = Reproduction.Run(teacherModel, teacherLabel, train, test, settings, row =>
            {
                if (row.Method == Reproduction.Teacher)
                {
                    Console.WriteLine($"{row.Regime}: teacher test accuracy {row.Accuracy:P2}, ECE {row.Ece:F4}");
                    return;
                }
                done++;
                Console.WriteLine($"[{done,3}/{total}] {row.Regime,-13} {row.Method,-7} seed {row.Seed}  accuracy {row.Accuracy:P2}  ECE {row.Ece:F4}  " +
                                  (row.Reused ? $"reused (trained in {row.Seconds:F1} s)" : $"{row.Seconds,5:F1} s") +
                                  (row.ResumedFromEpoch > 0 ? $", resumed after epoch {row.ResumedFromEpoch}" : "") + $"  (elapsed {clock.Elapsed:mm\\:ss})");
            }, teacherImages: teacherImages, cache: cache);
            int reused = report.Rows.Count(r => r.Reused);
            Console.WriteLine($"{reused} of {total} runs reused from {cache.Directory}, {total - reused} trained");

            var files = Reproduction.Save(report, outDir);
            Console.WriteLine();
            Console.Write(Reproduction.ToText(report.Summaries));
            Console.WriteLine();
            Console.WriteLine(Reproduction.HintonLowDataNote);
            Console.WriteLine($"wrote {files.Csv}, {files.Markdown} and {files.Html}");
            Console.WriteLine($"wall time {clock.Elapsed:mm\\:ss} ({clock.Elapsed.TotalSeconds:F0} s)");
            return Cli.Ok;
        }));
        return command;
    }
}

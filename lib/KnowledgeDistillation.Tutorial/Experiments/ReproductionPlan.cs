using System.Diagnostics;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Experiments;

/// <summary>A teacher that a <see cref="ReproductionPlan"/> retrains from scratch (seed 0, cross entropy).</summary>
/// <param name="Model">Its <see cref="Models.ModelZoo"/> name.</param>
/// <param name="Epochs">Training epochs.</param>
/// <param name="Images">A class-balanced subset of this many training images (seed 0); null for all of them.</param>
/// <param name="LearningRate">Adam's learning rate (the rest as the plan's <see cref="ReproductionSettings.Training"/>).</param>
/// <param name="Precision">The number format of its training (<see cref="TrainingPrecision"/>).</param>
public sealed record TeacherPlan(string Model, int Epochs, int? Images, double LearningRate = 1e-3, TrainingPrecision Precision = TrainingPrecision.Float32);

/// <summary>One teacher's part of a finished plan: the teacher's training and the student table against it.</summary>
/// <param name="Teacher">What was trained.</param>
/// <param name="Name">The teacher's name in the tables, for example <c>cnn-teacher (retrained, 3 epochs)</c>.</param>
/// <param name="Parameters">The teacher's parameter count.</param>
/// <param name="TeacherSeconds">Wall time of the teacher's training.</param>
/// <param name="Report">The student table against this teacher (its teacher rows hold the teacher's test accuracy).</param>
public sealed record TeacherPart(TeacherPlan Teacher, string Name, long Parameters, double TeacherSeconds, ReproductionReport Report);

/// <summary>One line of <see cref="ReproductionPlan.TimeRows"/>.</summary>
/// <param name="Teacher">The teacher's model name.</param>
/// <param name="What"><c>teacher training</c>, <c>teacher evaluation</c> or a student method (summed over regimes and seeds).</param>
/// <param name="Runs">How many runs the row covers.</param>
/// <param name="Seconds">Wall seconds spent now: the runs read back from the run cache count 0.</param>
/// <param name="Reused">How many of the runs were read back from the run cache (<see cref="RunCache"/>).</param>
public sealed record TimeRow(string Teacher, string What, int Runs, double Seconds, int Reused = 0);

/// <summary>What one step of <see cref="ReproductionPlan.Run"/> is doing, for a progress line.</summary>
/// <param name="Part">The teacher being trained or distilled from.</param>
/// <param name="Message">For example <c>teacher epoch 2/3</c> or <c>1,000 labels, kd, seed 1: 84.1%</c>.</param>
/// <param name="Done">Finished steps: teacher epochs and student runs.</param>
/// <param name="Total">All steps of the plan.</param>
/// <param name="Elapsed">Wall time since the plan started.</param>
public sealed record PlanProgress(string Part, string Message, int Done, int Total, TimeSpan Elapsed)
{
    /// <summary>One line: <c>[12/130, 0:41] cnn-teacher: 1,000 labels, kd, seed 1: 84.10%</c>.</summary>
    public override string ToString() => $"[{Done}/{Total}, {Elapsed:h\\:mm\\:ss}] {Part}: {Message}";
}

/// <summary>
/// The whole experiment table of notebook 09: retrain each teacher from scratch, then train the student from scratch
/// and with every distillation method against it, over several seeds (<see cref="Reproduction.Run"/>).
/// <see cref="For"/> picks the plan for the device and the mode.
/// </summary>
/// <param name="Name">Which plan: <c>quick</c>, <c>full (CPU)</c> or <c>full (GPU)</c>.</param>
/// <param name="Teachers">The teachers, each retrained and then distilled from.</param>
/// <param name="Settings">The student table (regimes, methods, seeds, test subset, training options).</param>
/// <param name="Notes">Why the plan is what it is, for the notebook to print.</param>
public sealed record ReproductionPlan(string Name, IReadOnlyList<TeacherPlan> Teachers, ReproductionSettings Settings, IReadOnlyList<string> Notes)
{
    /// <summary>
    /// The plan for <paramref name="device"/>:
    /// <list type="bullet">
    /// <item><b>quick</b> (the test harness, any device): the CNN teacher for 2 epochs on 10,000 images; students on 5,000
    /// images for 1 epoch and on 1,000 for 4; 1,000 test images; every method, 3 seeds. No ResNet teacher: one epoch on a
    /// few thousand images leaves its batch-norm statistics unsettled and the teacher worse than the students, so it
    /// would teach nothing (the library's tests train it in a tiny plan instead).</item>
    /// <item><b>full (CPU)</b>: the CNN teacher for 3 epochs on all 60,000 images (91.0% measured, see
    /// <see cref="Reproduction"/>); the table of notebooks 05 and 06 (5,000 labels for 10 epochs, 1,000 for 30), every
    /// method, 3 seeds, all 10,000 test images. No ResNet teacher: its training alone would take hours on a CPU.</item>
    /// <item><b>full (GPU)</b>: the CNN teacher and ResNet-20, 15 epochs each on all images; students on all 60,000
    /// labels for 10 epochs and on 1,000 for 30; every method, 3 seeds, all test images.</item>
    /// </list>
    /// </summary>
    /// <param name="device">The device the runs will use (<see cref="Runtime.Devices.Resolve"/>).</param>
    /// <param name="quick">Quick mode (<see cref="Setup.KdEnvironment.QuickMode"/>).</param>
    public static ReproductionPlan For(Device device, bool quick)
    {
        ArgumentNullException.ThrowIfNull(device);
        var training = ReproductionSettings.Full.Training with { Device = device.ToString() };
        var methods = DistillationMethods.All;
        // A CPU with bfloat16 arithmetic trains the teacher in mixed precision: 1.4-1.9x faster, at 0.08-0.17 points of
        // the teacher's test accuracy (3 epochs on all images, 3 seeds; README, "bfloat16"). The students stay in float32,
        // so that their runs are those of notebooks 05 and 06 (the run cache shares the scratch students).
        var cpuTeacher = device.type == DeviceType.CPU && Runtime.Devices.HasFastBFloat16(device) ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32;
        if (quick)
            return new ReproductionPlan("quick",
                [new TeacherPlan("cnn-teacher", 2, 10000, Precision: cpuTeacher)],
                new ReproductionSettings
                {
                    Regimes = [new("5,000 labels", 5000, 1), new("1,000 labels", 1000, 4)],
                    Methods = methods, TestImages = 1000, Training = training,
                },
                ["Quick mode: the teacher trained for 2 epochs on 10,000 images, students for a few epochs, 1,000 test images. " +
                 "It checks that every part runs; its accuracies are far below a full run's, and its differences between methods are mostly noise.",
                 "The ResNet-20 teacher is left to the GPU plan."]);
        if (device.type == DeviceType.CUDA)
            return new ReproductionPlan("full (GPU)",
                [new TeacherPlan("cnn-teacher", 15, null), new TeacherPlan("resnet20", 15, null)],
                new ReproductionSettings
                {
                    Regimes = [new("all labels", null, 10), new("1,000 labels", 1000, 30)],
                    Methods = methods, Training = training,
                },
                ["Full run on a GPU: both teachers retrained on all 60,000 images; every method against each, with all labels " +
                 "and with 1,000, over 3 seeds, evaluated on all 10,000 test images.",
                 "Students train 10 epochs on all labels (ReproductionSettings.Full has 20) to keep the 120 runs within minutes."]);
        return new ReproductionPlan("full (CPU)",
            [new TeacherPlan("cnn-teacher", 3, null, Precision: cpuTeacher)],
            new ReproductionSettings
            {
                Regimes = [new("5,000 labels", 5000, 10), new("1,000 labels", 1000, 30)],
                Methods = methods, Training = training,
            },
            ["Full run on a CPU: the CNN teacher retrained for 3 epochs on all 60,000 images, then the table of notebooks 05 and 06 " +
             "(5,000 labels for 10 epochs, 1,000 for 30; every method; 3 seeds; all 10,000 test images).",
             "The ResNet-20 teacher is left to GPUs: on a laptop CPU its 15 epochs alone take hours."]);
    }

    /// <summary>Student runs of one teacher's table: regimes × seeds × (scratch + methods).</summary>
    public int StudentRunsPerTeacher => Settings.Regimes.Count * Settings.Seeds.Count * (1 + Settings.Methods.Count);

    /// <summary>Progress steps of <see cref="Run"/>: every teacher epoch and every student run.</summary>
    public int TotalSteps => Teachers.Sum(t => t.Epochs) + Teachers.Count * StudentRunsPerTeacher;

    /// <summary>Optimiser steps of the whole plan (teachers and students), a device-independent measure of its size: each
    /// epoch of n images is ⌈n / batch size⌉ steps.</summary>
    /// <param name="trainImages">The training set's size, for regimes and teachers that use all of it.</param>
    public long OptimizerSteps(int trainImages = 60_000)
    {
        int batch = Settings.Training.BatchSize;
        long StepsPerEpoch(int? images) => (long)Math.Ceiling((double)Math.Min(images ?? trainImages, trainImages) / batch);
        long teachers = Teachers.Sum(t => t.Epochs * StepsPerEpoch(t.Images));
        long students = Teachers.Count * Settings.Seeds.Count * (1L + Settings.Methods.Count) * Settings.Regimes.Sum(r => r.Epochs * StepsPerEpoch(r.Images));
        return teachers + students;
    }

    /// <summary>The plan as lines of text: the teachers, then the table's settings, then the notes.</summary>
    public IReadOnlyList<string> Describe()
    {
        var lines = new List<string> { $"plan: {Name}, on {Settings.Training.Device}" };
        lines.AddRange(Teachers.Select(t =>
            $"teacher {t.Model}: retrained from scratch for {t.Epochs} epoch(s) on {(t.Images is { } n ? $"{n:N0}" : "all")} training images, Adam lr {t.LearningRate:0.####}" +
            (t.Precision == TrainingPrecision.BFloat16 ? ", in bfloat16 mixed precision (this CPU has bfloat16 arithmetic; the students train in float32)" : "")));
        lines.AddRange(Reproduction.DescribeSettings(Settings));
        lines.Add($"{Teachers.Count} teacher(s) × {StudentRunsPerTeacher} student runs = {Teachers.Count * StudentRunsPerTeacher} runs, {OptimizerSteps():N0} optimiser steps in all");
        lines.AddRange(Notes);
        return lines;
    }

    /// <summary>The reproduction settings with which <see cref="Reproduction.TrainTeacher"/> trains <paramref name="teacher"/>.</summary>
    public ReproductionSettings SettingsFor(TeacherPlan teacher)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        return Settings with { TeacherEpochs = teacher.Epochs, TeacherImages = teacher.Images, TeacherLearningRate = teacher.LearningRate, TeacherPrecision = teacher.Precision };
    }

    /// <summary>Runs the plan: for each teacher, trains it from scratch and then runs the student table against it.</summary>
    /// <param name="train">The full training set.</param>
    /// <param name="test">The full test set.</param>
    /// <param name="progress">Called after every teacher epoch and every student run.</param>
    /// <param name="cancellation">Cancels between batches.</param>
    /// <param name="cache">Where finished student runs are stored and looked up (<see cref="RunCache"/>); every run is
    /// trained when null. A retrained teacher is a new teacher, so only the scratch students, which do not see it, can be
    /// read back from another plan's or notebook's runs (notebooks 05 and 06 train the same ones); a second run of the
    /// same plan reads back every student.</param>
    /// <exception cref="ArgumentException">The plan's settings are invalid for this data (see <see cref="Reproduction.Run"/>).</exception>
    public IReadOnlyList<TeacherPart> Run(LabelledImages train, LabelledImages test, Action<PlanProgress>? progress = null, CancellationToken cancellation = default,
        RunCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        if (Teachers.Count == 0) throw new ArgumentException("The plan has no teacher.");
        var clock = Stopwatch.StartNew();
        int done = 0;
        var parts = new List<TeacherPart>();
        foreach (var plan in Teachers)
        {
            var teacherClock = Stopwatch.StartNew();
            var callbacks = new TrainingCallbacks
            {
                Cancellation = cancellation,
                Progress = p =>
                {
                    if (p.Completed is { } epoch)
                        progress?.Invoke(new PlanProgress(plan.Model, $"teacher epoch {epoch.Epoch}/{plan.Epochs} ({p.Elapsed.TotalSeconds:F0} s)", ++done, TotalSteps, clock.Elapsed));
                },
            };
            using var teacher = Reproduction.TrainTeacher(plan.Model, train, test, SettingsFor(plan), callbacks);
            double teacherSeconds = teacherClock.Elapsed.TotalSeconds;
            string name = $"{plan.Model} (retrained, {plan.Epochs} epoch{(plan.Epochs == 1 ? "" : "s")})";
            var report = Reproduction.Run(teacher, name, train, test, Settings,
                finished: row =>
                {
                    if (row.Method != Reproduction.Teacher)
                        progress?.Invoke(new PlanProgress(plan.Model, $"{row.Regime}, {row.Method}, seed {row.Seed}: {row.Accuracy:P2} " +
                            (row.Reused ? $"(reused; trained in {row.Seconds:F1} s)" : $"({row.Seconds:F1} s)"), ++done, TotalSteps, clock.Elapsed));
                },
                cancellation: cancellation,
                teacherImages: plan.Images is { } n && n < train.Count ? n : train.Count,
                cache: cache);
            parts.Add(new TeacherPart(plan, name, Models.ModelSize.ParameterCount(teacher), teacherSeconds, report));
        }
        return parts;
    }

    /// <summary>Where the time went: per teacher, its training, then each student method's runs summed over regimes and
    /// seeds (the scratch student first), in the order of the table.</summary>
    public static IReadOnlyList<TimeRow> TimeRows(IReadOnlyList<TeacherPart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var rows = new List<TimeRow>();
        foreach (var part in parts)
        {
            rows.Add(new TimeRow(part.Teacher.Model, "teacher training", 1, part.TeacherSeconds));
            rows.AddRange(part.Report.Rows.Where(r => r.Method != Reproduction.Teacher)
                .GroupBy(r => r.Method)
                .Select(g => new TimeRow(part.Teacher.Model, g.Key, g.Count(), g.Where(r => !r.Reused).Sum(r => r.Seconds), g.Count(r => r.Reused))));
        }
        return rows;
    }
}

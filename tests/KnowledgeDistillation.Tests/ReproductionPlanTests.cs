using KnowledgeDistillation.Charts;
using KnowledgeDistillation.Data;
using KnowledgeDistillation.Experiments;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Notebook 09's plan: which teachers and which table on which device, and a tiny real run of it.</summary>
public class ReproductionPlanTests
{
    [Fact]
    public void Quick_plan_retrains_the_cnn_teacher_and_runs_every_method_over_three_seeds()
    {
        var plan = ReproductionPlan.For(CPU, quick: true);
        Assert.Equal("quick", plan.Name);
        var teacher = Assert.Single(plan.Teachers);
        Assert.Equal(("cnn-teacher", 2, (int?)10000), (teacher.Model, teacher.Epochs, teacher.Images));
        Assert.Equal(DistillationMethods.All, plan.Settings.Methods);
        Assert.Equal([0L, 1, 2], plan.Settings.Seeds);
        Assert.Equal(2 * 3 * 10, plan.StudentRunsPerTeacher);
        Assert.Equal(2 + 60, plan.TotalSteps);
        Assert.Equal("cpu", plan.Settings.Training.Device);
        Assert.Contains(plan.Describe(), l => l.Contains("1 teacher(s) × 60 student runs = 60 runs", StringComparison.Ordinal));
        // Teacher: 2 epochs × ⌈10,000 / 128⌉ = 2 × 79; students: 3 seeds × 10 × (1 × ⌈5,000 / 128⌉ + 4 × ⌈1,000 / 128⌉) = 30 × (40 + 32).
        Assert.Equal(2 * 79 + 30 * (40 + 32), plan.OptimizerSteps());
    }

    [Fact]
    public void Full_plan_on_a_cpu_is_the_table_of_notebooks_05_and_06_without_the_resnet_teacher()
    {
        var plan = ReproductionPlan.For(CPU, quick: false);
        Assert.Equal("full (CPU)", plan.Name);
        var teacher = Assert.Single(plan.Teachers);
        Assert.Equal(("cnn-teacher", 3, (int?)null), (teacher.Model, teacher.Epochs, teacher.Images));
        Assert.Equal([(5000, 10), (1000, 30)], plan.Settings.Regimes.Select(r => (r.Images ?? 0, r.Epochs)));
        Assert.Null(plan.Settings.TestImages);
        Assert.Contains(plan.Notes, n => n.Contains("ResNet-20", StringComparison.Ordinal));
        // The recorded tables of notebooks 05 and 06 used these regimes, so the comparison lines up.
        var recorded = ReferenceResults.LoadRecorded().Where(r => r.Notebook.StartsWith("05", StringComparison.Ordinal));
        Assert.All(plan.Settings.Regimes, r => Assert.Contains(recorded, x => x.Images == r.Images && x.Epochs == r.Epochs));
        // The teacher trains in bfloat16 mixed precision where this CPU does bfloat16 in hardware, the students in float32.
        var precision = KnowledgeDistillation.Runtime.Devices.HasFastBFloat16(CPU) ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32;
        Assert.Equal(precision, teacher.Precision);
        Assert.Equal(precision, plan.SettingsFor(teacher).TeacherPrecision);
        Assert.Equal(TrainingPrecision.Float32, plan.SettingsFor(teacher).Training.Precision);
        Assert.Equal(precision == TrainingPrecision.BFloat16, plan.Describe()[1].Contains("bfloat16", StringComparison.Ordinal));
    }

    [Fact]
    public void A_teacher_retrained_in_bfloat16_is_trained_in_bfloat16_and_comes_back_in_float32()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 512);
        using var test = FashionMnist.Load(Split.Test, limit: 200);
        var settings = ReproductionSettings.Quick with { TeacherEpochs = 1, Training = ReproductionSettings.Quick.Training with { Device = "cpu" } };
        using var float32 = Reproduction.TrainTeacher("cnn-teacher", train, test, settings);
        using var bf16 = Reproduction.TrainTeacher("cnn-teacher", train, test, settings with { TeacherPrecision = TrainingPrecision.BFloat16 });
        Assert.All(bf16.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        // Same seed, data and initial weights: only the precision differs, and it shows in the weights.
        Assert.Contains(float32.parameters().Zip(bf16.parameters()), p => !p.First.eq(p.Second).all().item<bool>());
        using var again = Reproduction.TrainTeacher("cnn-teacher", train, test, settings with { TeacherPrecision = TrainingPrecision.BFloat16 });
        Assert.All(bf16.parameters().Zip(again.parameters()), p => Assert.True(p.First.eq(p.Second).all().item<bool>(), "bfloat16 training is not deterministic"));
    }

    [Fact]
    public void Full_plan_on_a_gpu_adds_the_resnet_teacher_and_all_labels()
    {
        // A Device value needs no GPU; only the plan is built.
        var plan = ReproductionPlan.For(new Device(DeviceType.CUDA, 0), quick: false);
        Assert.Equal("full (GPU)", plan.Name);
        Assert.Equal(["cnn-teacher", "resnet20"], plan.Teachers.Select(t => t.Model));
        Assert.All(plan.Teachers, t => Assert.Null(t.Images));
        Assert.Contains(plan.Settings.Regimes, r => r.Images is null);
        Assert.Equal("cuda:0", plan.Settings.Training.Device);
        // 2 teachers × 15 × 469, and per teacher 3 seeds × 10 runs × (10 × 469 + 30 × 8).
        Assert.Equal(2 * 15 * 469 + 2 * 30 * (10 * 469 + 30 * 8), plan.OptimizerSteps());
        var settings = plan.SettingsFor(plan.Teachers[1]);
        Assert.Equal((15, (int?)null, 1e-3), (settings.TeacherEpochs, settings.TeacherImages, settings.TeacherLearningRate));
    }

    [Fact]
    public void Every_method_builds_from_a_resnet_teacher_to_the_cnn_student()
    {
        using var teacher = ResNet.ResNet20();
        using var student = SmallCnn.Student();
        foreach (var method in DistillationMethods.All)
        {
            var objective = DistillationMethods.Build(method, student, teacher, new MethodSettings());
            Assert.NotEmpty(objective.Terms);
            foreach (var term in objective.Terms) term.Trainable?.Dispose();
        }
    }

    [Fact]
    public void A_tiny_plan_trains_its_teachers_runs_each_table_and_reports_every_step_and_where_the_time_went()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 600);
        using var test = FashionMnist.Load(Split.Test, limit: 200);
        var plan = new ReproductionPlan("tiny",
            [new TeacherPlan("cnn-teacher", 2, 300), new TeacherPlan("resnet20", 1, 100)],
            new ReproductionSettings
            {
                Regimes = [new("100 labels", 100, 1)],
                Methods = DistillationMethods.All,
                Seeds = [0, 1],
                TestImages = 100,
                Training = ReproductionSettings.Quick.Training with { Device = "cpu", BatchSize = 50 },
            },
            ["a note"]);
        var steps = new List<PlanProgress>();
        var parts = plan.Run(train, test, steps.Add);

        Assert.Equal(2, parts.Count);
        Assert.Equal(plan.TotalSteps, steps.Count);
        Assert.Equal(Enumerable.Range(1, plan.TotalSteps), steps.Select(s => s.Done));
        Assert.Equal(["teacher epoch 1/2", "teacher epoch 2/2"], steps.Take(2).Select(s => s.Message[..17]));
        Assert.StartsWith("[1/", steps[0].ToString(), StringComparison.Ordinal);
        Assert.Equal("resnet20 (retrained, 1 epoch)", parts[1].Name);
        Assert.Equal(ModelSize.ParameterCount(ResNet.ResNet20()), parts[1].Parameters);
        foreach (var part in parts)
        {
            Assert.True(part.TeacherSeconds > 0);
            // teacher row + 2 seeds × (scratch + every method)
            Assert.Equal(1 + 2 * (1 + DistillationMethods.All.Count), part.Report.Rows.Count);
            Assert.All(part.Report.Rows, r => Assert.InRange(r.Accuracy, 0, 1));
        }
        Assert.Equal(300, parts[0].Report.Rows[0].Images); // the teacher's row: what it was trained on
        Assert.Equal(100, parts[1].Report.Rows[0].Images);

        var time = ReproductionPlan.TimeRows(parts);
        Assert.Equal(2 * (2 + DistillationMethods.All.Count), time.Count);
        Assert.Equal(("cnn-teacher", "teacher training"), (time[0].Teacher, time[0].What));
        Assert.Equal((Reproduction.Scratch, 2), (time[1].What, time[1].Runs));
        Assert.Equal(parts[1].Report.Rows.Where(r => r.Method == "kd").Sum(r => r.Seconds), time.Single(t => t.Teacher == "resnet20" && t.What == "kd").Seconds, 1e-9);
        var html = ChartFiles.ToHtml(ResultCharts.TimeByPart(parts), embedPlotlyJs: false);
        Assert.Contains("resnet20: teacher training", html);
        Assert.Contains("cnn-teacher: kd+rkd", html);
    }

    [Fact]
    public void A_plan_reads_back_its_students_from_the_run_cache_and_another_teachers_plan_its_scratch_students()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 600);
        using var test = FashionMnist.Load(Split.Test, limit: 200);
        using var dir = new TempDirectory();
        ReproductionPlan Plan(int teacherEpochs) => new("tiny", [new TeacherPlan("cnn-teacher", teacherEpochs, 300)],
            new ReproductionSettings
            {
                Regimes = [new("100 labels", 100, 1)],
                Methods = [DistillationMethod.Kd, DistillationMethod.At],
                Seeds = [0, 1],
                TestImages = 100,
                Training = ReproductionSettings.Quick.Training with { Device = "auto", BatchSize = 50 },
            }, []);

        var first = Plan(1).Run(train, test, cache: new RunCache(dir.Path));
        Assert.DoesNotContain(first[0].Report.Rows, r => r.Reused);
        var steps = new List<PlanProgress>();
        // The same plan again: the teacher retrains to the same weights, so every student is read back.
        var second = Plan(1).Run(train, test, steps.Add, cache: new RunCache(dir.Path));
        Assert.All(second[0].Report.Rows.Where(r => r.Method != Reproduction.Teacher), r => Assert.True(r.Reused));
        Assert.Equal(first[0].Report.Rows.Select(r => (r.Method, r.Seed, r.Accuracy, r.Loss)), second[0].Report.Rows.Select(r => (r.Method, r.Seed, r.Accuracy, r.Loss)));
        Assert.Contains(steps, s => s.Message.Contains("(reused; trained in", StringComparison.Ordinal));
        var time = ReproductionPlan.TimeRows(second);
        Assert.All(time.Skip(1), t => Assert.Equal((t.Runs, 0.0), (t.Reused, t.Seconds))); // nothing trained now
        Assert.Contains("cnn-teacher: kd (reused)", ChartFiles.ToHtml(ResultCharts.TimeByPart(second), embedPlotlyJs: false));

        // Another teacher (2 epochs): its distilled students are new, the scratch students (which never see it) are read back.
        var other = Plan(2).Run(train, test, cache: new RunCache(dir.Path));
        Assert.Equal([Reproduction.Scratch, Reproduction.Scratch], other[0].Report.Rows.Where(r => r.Reused).Select(r => r.Method));
        var otherTime = ReproductionPlan.TimeRows(other);
        Assert.Equal((2, 2, 0.0), otherTime.Where(t => t.What == Reproduction.Scratch).Select(t => (t.Runs, t.Reused, t.Seconds)).Single());
        Assert.Equal(0, otherTime.Single(t => t.What == "kd").Reused);
    }

    [Fact]
    public void A_plan_without_teachers_is_refused()
    {
        using var train = FashionMnist.Load(Split.Train, limit: 100);
        var plan = new ReproductionPlan("none", [], new ReproductionSettings(), []);
        Assert.Throws<ArgumentException>(() => plan.Run(train, train));
    }
}

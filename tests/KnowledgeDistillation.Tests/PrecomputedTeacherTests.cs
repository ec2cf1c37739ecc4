using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Distillation from teacher logits computed once, as the notebooks do for many seeds and a sweep.</summary>
public class PrecomputedTeacherTests
{
    static readonly Lazy<LabelledImages> TrainSlice = new(() => FashionMnist.Load(Split.Train, limit: 1024));
    static readonly Lazy<LabelledImages> TestSlice = new(() => FashionMnist.Load(Split.Test, limit: 500));

    static TrainingOptions Quick(int epochs = 2) => new() { Epochs = epochs, BatchSize = 64, Seed = 7, Device = "cpu", LearningRate = 2e-3 };

    static Mlp Student()
    {
        manual_seed(3);
        return Mlp.TinyStudent();
    }

    static SmallCnn Teacher()
    {
        manual_seed(2);
        return SmallCnn.Teacher();
    }

    static DistillationObjective Hinton() => new(DistillationTerms.CrossEntropy(0.5), DistillationTerms.Soft(4, 0.5));

    static (double, double, double, double) Metrics(EpochRecord r) => (r.TrainLoss, r.TrainAccuracy, r.TestLoss, r.TestAccuracy);

    [Fact]
    public void Precomputed_logits_give_exactly_the_run_of_the_teacher_model()
    {
        var teacher = Teacher();
        var fromModel = Trainer.Distill(Student(), teacher, Hinton(), TrainSlice.Value, TestSlice.Value, Quick());
        using var logits = Evaluator.Logits(teacher, TrainSlice.Value.Images);
        using var before = logits.clone();
        var fromLogits = Trainer.Distill(Student(), logits, Hinton(), TrainSlice.Value, TestSlice.Value, Quick());
        Assert.Equal(fromModel.History.Select(Metrics), fromLogits.History.Select(Metrics));
        Assert.Equal(["ce", "kd"], fromLogits.History[0].Terms.Keys);
        Assert.True(logits.eq(before).all().item<bool>(), "the caller's logits changed");
        Assert.False(logits.IsInvalid);
    }

    [Fact]
    public void Logits_that_do_not_fit_are_refused_before_training()
    {
        using var wrongRows = zeros(10, 10);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Distill(Student(), wrongRows, Hinton(), TrainSlice.Value, TestSlice.Value, Quick(1)));
        Assert.Contains("[1024, classes]", e.Message);

        using var wrongClasses = zeros(1024, 5);
        e = Assert.Throws<ArgumentException>(() => Trainer.Distill(Student(), wrongClasses, Hinton(), TrainSlice.Value, TestSlice.Value, Quick(1)));
        Assert.Contains("Before training", e.Message);
        Assert.Contains("5 classes", e.Message);

        using var logits = zeros(1024, 10);
        var features = new DistillationObjective(DistillationTerms.Pkt(0, 0));
        e = Assert.Throws<ArgumentException>(() => Trainer.Distill(Student(), logits, features, TrainSlice.Value, TestSlice.Value, Quick(1)));
        Assert.Contains("'pkt'", e.Message);
    }

    [Fact]
    public void Distillation_leaves_no_live_tensors_behind()
    {
        var student = Student();
        var teacher = Teacher();
        using var logits = Evaluator.Logits(teacher, TrainSlice.Value.Images);
        Trainer.Distill(student, logits, Hinton(), TrainSlice.Value, TestSlice.Value, Quick(1)); // warm-up
        Trainer.Distill(student, teacher, Hinton(), TrainSlice.Value, TestSlice.Value, Quick(1));
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Trainer.Distill(student, logits, Hinton(), TrainSlice.Value, TestSlice.Value, Quick(1));
        Trainer.Distill(student, teacher, Hinton(), TrainSlice.Value, TestSlice.Value, Quick(1));
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}

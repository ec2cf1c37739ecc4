using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Each method builds the documented objective on the SmallCnn pair; impossible pairings fail clearly.</summary>
public class DistillationMethodsTests
{
    static readonly SmallCnn Teacher = SmallCnn.Teacher();
    static readonly SmallCnn Student = SmallCnn.Student();

    public static TheoryData<string, string[], double[]> Documented => new()
    {
        // name, term names, term weights (T = 4, α = 0.9, default feature weights)
        { "kd", ["ce", "kd"], [0.1, 0.9] },
        { "logits", ["ce", "logits"], [1, 0.1] },
        { "fitnet", ["ce", "hint"], [1, 100] },
        { "at", ["ce", "at"], [1, 1000] },
        { "cosine", ["ce", "cosine"], [1, 1.0 / 3] },
        { "rkd", ["ce", "rkd"], [1, 25] },
        { "sp", ["ce", "sp"], [1, 3000] },
        { "pkt", ["ce", "pkt"], [1, 30000] },
        { "kd+rkd", ["ce", "kd", "rkd"], [0.1, 0.9, 25] },
    };

    [Theory]
    [MemberData(nameof(Documented))]
    public void Each_method_builds_the_documented_terms_and_weights(string name, string[] terms, double[] weights)
    {
        var method = DistillationMethods.Parse(name);
        Assert.Equal(name, DistillationMethods.Name(method));
        var objective = DistillationMethods.Build(method, Student, Teacher, new MethodSettings());
        Assert.Equal(terms, objective.Terms.Select(t => t.Name));
        Assert.Equal(weights, objective.Terms.Select(t => t.Weight), (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.True(objective.Terms[0].UsesLabels, "every method keeps the cross entropy on the hard labels");
    }

    [Fact]
    public void Names_parse_case_insensitively_and_cover_every_method()
    {
        Assert.Equal(Enum.GetValues<DistillationMethod>(), DistillationMethods.All);
        Assert.Equal(["kd", "logits", "fitnet", "at", "cosine", "rkd", "sp", "pkt", "kd+rkd"], DistillationMethods.Names);
        Assert.Equal(DistillationMethod.KdRkd, DistillationMethods.Parse("KD+RKD"));
        Assert.Equal(DistillationMethod.FitNet, DistillationMethods.Parse(" FitNet "));
        var e = Assert.Throws<ArgumentException>(() => DistillationMethods.Parse("nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains("kd, logits, fitnet, at, cosine, rkd, sp, pkt, kd+rkd", e.Message);
    }

    [Fact]
    public void Features_pair_as_documented_for_the_SmallCnn_pair()
    {
        var settings = new MethodSettings();
        var hint = DistillationMethods.Build(DistillationMethod.FitNet, Student, Teacher, settings).Terms[1];
        Assert.Equal([1], hint.StudentFeatures);   // block2 [16, 7, 7], the deepest map pair of equal size
        Assert.Equal([1], hint.TeacherFeatures);   // block2 [64, 7, 7]
        var regressor = Assert.IsType<HintLoss>(hint.Trainable);
        Assert.Equal((16L, 64L, true), (regressor.StudentWidth, regressor.TeacherWidth, regressor.Spatial));

        var at = DistillationMethods.Build(DistillationMethod.At, Student, Teacher, settings).Terms[1];
        Assert.Equal([0, 1], at.StudentFeatures);
        Assert.Equal([0, 1], at.TeacherFeatures);

        var cosine = DistillationMethods.Build(DistillationMethod.Cosine, Student, Teacher, settings).Terms[1];
        Assert.Equal([1], cosine.StudentFeatures); // embeddings 128 vs 320 are no multiple; block2 784 vs 3136 is (×4)
        Assert.Equal([1], cosine.TeacherFeatures);

        var sp = DistillationMethods.Build(DistillationMethod.Sp, Student, Teacher, settings).Terms[1];
        Assert.Equal([1], sp.StudentFeatures);

        foreach (var m in new[] { DistillationMethod.Rkd, DistillationMethod.Pkt, DistillationMethod.KdRkd })
        {
            var term = DistillationMethods.Build(m, Student, Teacher, settings).Terms[^1];
            Assert.Equal([2], term.StudentFeatures); // the embeddings
            Assert.Equal([2], term.TeacherFeatures);
        }
        Assert.DoesNotContain(DistillationMethods.Build(DistillationMethod.Kd, Student, Teacher, settings).Terms, t => t.UsesFeatures);
        Assert.DoesNotContain(DistillationMethods.Build(DistillationMethod.Logits, Student, Teacher, settings).Terms, t => t.UsesFeatures);
    }

    [Fact]
    public void Settings_reach_the_terms()
    {
        var kd = DistillationMethods.Build(DistillationMethod.Kd, Student, Teacher, new MethodSettings { T = 2, Alpha = 0.5 });
        Assert.Equal([0.5, 0.5], kd.Terms.Select(t => t.Weight));
        var at = DistillationMethods.Build(DistillationMethod.At, Student, Teacher, new MethodSettings { FeatureWeight = 7 });
        Assert.Equal(7, at.Terms[1].Weight);
        var rkd = DistillationMethods.Build(DistillationMethod.KdRkd, Student, Teacher, new MethodSettings { Alpha = 0.3, FeatureWeight = 2 });
        Assert.Equal([0.7, 0.3, 2], rkd.Terms.Select(t => t.Weight), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Every_objective_computes_on_real_features()
    {
        using var scope = NewDisposeScope();
        manual_seed(0);
        var x = randn(4, 1, 28, 28);
        var y = tensor(new long[] { 0, 1, 2, 3 });
        Teacher.eval();
        Student.eval();
        var t = Teacher.forward_features(x);
        var s = Student.forward_features(x);
        foreach (var method in DistillationMethods.All)
        {
            var value = DistillationMethods.Build(method, Student, Teacher, new MethodSettings())
                .Compute(new DistillationBatch(s.Logits, t.Logits, y, s.Features, t.Features));
            Assert.True(double.IsFinite(value.Total.item<float>()), DistillationMethods.Name(method));
        }
    }

    [Theory]
    [InlineData("fitnet", "hint")]
    [InlineData("at", "at")]
    [InlineData("sp", "sp")]
    [InlineData("cosine", "cosine")]
    public void Methods_that_need_feature_maps_fail_clearly_on_an_mlp_student(string name, string term)
    {
        var mlp = Mlp.HintonStudent();
        var e = Assert.Throws<ArgumentException>(() => DistillationMethods.Build(DistillationMethods.Parse(name), mlp, Teacher, new MethodSettings()));
        Assert.Contains($"'{term}'", e.Message);
        Assert.Contains("hidden2 [800]", e.Message);   // names the student's features
        Assert.Contains("block2 [64, 7, 7]", e.Message); // and the teacher's
    }

    [Fact]
    public void Relation_methods_work_on_any_embeddings()
    {
        var mlp = Mlp.TinyStudent();
        Assert.Equal(["ce", "rkd"], DistillationMethods.Build(DistillationMethod.Rkd, mlp, Teacher, new MethodSettings()).Terms.Select(t => t.Name));
        Assert.Equal(["ce", "pkt"], DistillationMethods.Build(DistillationMethod.Pkt, mlp, Teacher, new MethodSettings()).Terms.Select(t => t.Name));
    }

    [Fact]
    public void Feature_maps_pair_from_the_deepest_so_a_deeper_teacher_leaves_its_first_stage_out()
    {
        // Student maps 14×14 and 7×7; ResNet-20's stages are 28, 14 and 7: counted from the deepest, 14↔14 and 7↔7.
        var teacher = ResNet.ResNet20();
        Assert.Equal([(0, 1), (1, 2)], DistillationMethods.MapPairs(Student, teacher, "at"));
        Assert.Equal([(0, 1), (1, 2)], DistillationMethods.EqualSizeMaps(Student, teacher, "at"));
        var hint = DistillationMethods.Build(DistillationMethod.FitNet, Student, teacher, new MethodSettings()).Terms[1];
        Assert.Equal([2], hint.TeacherFeatures);
        hint.Trainable?.Dispose();
    }

    [Fact]
    public void Feature_maps_of_different_sizes_do_not_pair()
    {
        // A two-stage ResNet has maps 28 and 14; against the student's 14 and 7 that pairs 14 vs 28 and 7 vs 14.
        var e = Assert.Throws<ArgumentException>(() => DistillationMethods.Build(DistillationMethod.FitNet, Student, new ResNet(1, [16, 32]), new MethodSettings()));
        Assert.Contains("same height and width", e.Message);
    }

    [Theory]
    [InlineData(0.0, 0.9, null)]
    [InlineData(4.0, 1.5, null)]
    [InlineData(4.0, 0.9, -1.0)]
    public void Invalid_settings_are_rejected(double T, double alpha, double? weight)
    {
        Assert.ThrowsAny<ArgumentException>(() =>
            DistillationMethods.Build(DistillationMethod.KdRkd, Student, Teacher, new MethodSettings { T = T, Alpha = alpha, FeatureWeight = weight }));
    }

    [Fact]
    public void Kd_refuses_a_feature_weight()
    {
        var e = Assert.Throws<ArgumentException>(() => DistillationMethods.Build(DistillationMethod.Kd, Student, Teacher, new MethodSettings { FeatureWeight = 3 }));
        Assert.Contains("alpha", e.Message);
    }

    [Fact]
    public void Class_counts_must_match()
    {
        var e = Assert.Throws<ArgumentException>(() => DistillationMethods.Build(DistillationMethod.Kd, new SmallCnn(8, 16, 128, numClasses: 5), Teacher, new MethodSettings()));
        Assert.Contains("the student has 5", e.Message);
    }
}

/// <summary>Every method through the real trainer, and the experiment table's shared teacher pass.</summary>
public class DistillationMethodsTrainingTests
{
    static readonly Lazy<LabelledImages> Train = new(() => FashionMnist.Load(Split.Train, limit: 256));
    static readonly Lazy<LabelledImages> Test = new(() => FashionMnist.Load(Split.Test, limit: 100));
    static readonly TrainingOptions Options = new() { Epochs = 1, BatchSize = 64, Device = "cpu", Seed = 3 };

    static SmallCnn FrozenTeacher()
    {
        manual_seed(1);
        return SmallCnn.Teacher();
    }

    [Fact]
    public void Every_method_trains_one_epoch_through_Trainer_Distill()
    {
        var teacher = FrozenTeacher();
        foreach (var method in DistillationMethods.All)
        {
            manual_seed(2);
            var student = SmallCnn.Student();
            var objective = DistillationMethods.Build(method, student, teacher, new MethodSettings());
            var result = Trainer.Distill(student, teacher, objective, Train.Value, Test.Value, Options);
            var record = Assert.Single(result.History);
            Assert.True(double.IsFinite(record.TrainLoss), DistillationMethods.Name(method));
            Assert.Equal(objective.Terms.Select(t => t.Name).Order(), record.Terms.Keys.Order());
        }
    }

    [Fact]
    public void A_shared_teacher_pass_gives_the_same_run_as_the_trainers_own_cache()
    {
        var teacher = FrozenTeacher();
        TrainingResult Run(TeacherOutputs? shared)
        {
            manual_seed(2);
            var student = SmallCnn.Student();
            var objective = DistillationMethods.Build(DistillationMethod.At, student, teacher, new MethodSettings());
            return Trainer.Distill(student, teacher, objective, Train.Value, Test.Value, Options, null, shared);
        }
        var own = Run(null);
        using var shared = TeacherOutputs.Compute(teacher, Train.Value.Images, [0, 1, 2], 1000);
        var reused = Run(shared);
        Assert.Equal(own.History[0].TrainLoss, reused.History[0].TrainLoss);
        Assert.Equal(own.Final.Accuracy, reused.Final.Accuracy);
        Assert.Equal(own.Final.Loss, reused.Final.Loss);
        Assert.Equal(3, shared.FeatureIndices.Count); // still usable: the trainer did not dispose what it did not create

        using var partial = TeacherOutputs.Compute(teacher, Train.Value.Images, [2], 1000);
        var e = Assert.Throws<ArgumentException>(() => Run(partial));
        Assert.Contains("needs features [0, 1]", e.Message);
    }
}

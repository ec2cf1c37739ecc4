using KnowledgeDistillation.Data;
using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>Small defects of the training engine (issue 16), each with a test that failed before its fix.</summary>
public class EngineDefectTests
{
    static readonly Lazy<LabelledImages> Train = new(() => FashionMnist.Load(Split.Train, limit: 256));
    static readonly Lazy<LabelledImages> Test = new(() => FashionMnist.Load(Split.Test, limit: 100));

    static TrainingOptions OneEpoch => new() { Epochs = 1, BatchSize = 64, Seed = 7, Device = "cpu" };

    [Fact]
    public void Distilling_gives_the_teacher_back_with_its_parameters_trainable_as_before()
    {
        manual_seed(1);
        var teacher = Mlp.TinyStudent();
        var frozenByCaller = teacher.parameters().First();
        frozenByCaller.requires_grad = false;
        var before = teacher.parameters().Select(p => p.requires_grad).ToList();
        Assert.Contains(true, before);

        manual_seed(2);
        Trainer.Distill(Mlp.TinyStudent(), teacher, new DistillationObjective(DistillationTerms.CrossEntropy(0.1), DistillationTerms.Soft(4, 0.9)), Train.Value, Test.Value, OneEpoch);

        Assert.Equal(before, teacher.parameters().Select(p => p.requires_grad).ToList());
    }

    [Fact]
    public void Saving_a_checkpoint_leaves_no_tensor_behind()
    {
        manual_seed(3);
        using var model = Mlp.TinyStudent();
        using var optimizer = optim.Adam(model.parameters());
        using var shuffle = new Generator(5);
        string path = Path.Combine(Path.GetTempPath(), $"kd-checkpoint-{Guid.NewGuid():N}.bin");
        try
        {
            var state = new Checkpoint.State(1, [], "fingerprint");
            Checkpoint.Save(path, model, optimizer, shuffle, state); // first call: lazily created state, if any
            var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            for (int i = 0; i < 3; i++) Checkpoint.Save(path, model, optimizer, shuffle, state);
            Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Evaluation_runs_in_batches_of_256_by_default_as_documented()
    {
        var sizes = new List<long>();
        using var model = new Recorder(sizes);
        using var images = zeros(600, 1, 28, 28);
        using var logits = Evaluator.Logits(model, images);
        Assert.Equal([256L, 256L, 88L], sizes);
        Assert.Equal(Evaluator.DefaultBatchSize, new TrainingOptions().EvaluationBatchSize);
    }

    /// <summary>Ten zero logits per image, recording each batch's size.</summary>
    sealed class Recorder(List<long> sizes) : nn.Module<Tensor, Tensor>("recorder")
    {
        public override Tensor forward(Tensor input)
        {
            sizes.Add(input.shape[0]);
            return zeros(input.shape[0], 10);
        }
    }

    [Fact]
    public void Disposing_an_objective_frees_its_trainable_regressor()
    {
        // The experiment table builds one objective per method just to read which teacher features it needs; a FitNets
        // objective holds a 1×1-convolution regressor, whose native tensors stayed alive until the finaliser ran.
        var hint = new HintLoss(16, 32);
        var parameters = hint.parameters().ToList();
        Assert.NotEmpty(parameters);
        using (new DistillationObjective(DistillationTerms.CrossEntropy(), DistillationTerms.Hint(hint, 0, 0)))
        {
        }
        Assert.All(parameters, p => Assert.True(p.IsInvalid, "a regressor parameter is still alive"));
    }
}

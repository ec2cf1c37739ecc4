using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace KnowledgeDistillation.Tests;

public class ModelTests
{
    public static TheoryData<string> AllModels => ["HintonTeacher", "HintonStudent", "TinyStudent", "SmallCnnTeacher", "SmallCnnStudent", "ResNet20"];

    static nn.Module<Tensor, Tensor> Create(string name) => name switch
    {
        "HintonTeacher" => Mlp.HintonTeacher(),
        "HintonStudent" => Mlp.HintonStudent(),
        "TinyStudent" => Mlp.TinyStudent(),
        "SmallCnnTeacher" => SmallCnn.Teacher(),
        "SmallCnnStudent" => SmallCnn.Student(),
        "ResNet20" => ResNet.ResNet20(),
        _ => throw new ArgumentException(name),
    };

    static Tensor Batch(int size = 5)
    {
        manual_seed(7);
        return randn(size, 1, 28, 28);
    }

    // Forward and forward_features run the same operations in the same order, so in evaluation mode they agree to the
    // last bit on the CPU; the tolerance only leaves room for kernels that are not bit-reproducible (some GPU ones).
    const double Rtol = 1e-5, Atol = 1e-6;

    [Theory, MemberData(nameof(AllModels))]
    public void Forward_maps_a_batch_of_five_images_to_logits(string name)
    {
        using var module = Create(name);
        using var x = Batch();
        using var logits = module.call(x);
        Assert.Equal(new long[] { 5, 10 }, logits.shape);
        Assert.Equal(10, ((FeatureModel)module).NumClasses);
    }

    [Theory, MemberData(nameof(AllModels))]
    public void Forward_features_match_their_declarations_and_eval_logits_equal_forward(string name)
    {
        using var module = Create(name);
        var model = (FeatureModel)module;
        module.eval();
        using var scope = NewDisposeScope();
        var x = Batch();
        var output = model.forward_features(x);
        Assert.Equal(model.Features.Count, output.Features.Count);
        for (int i = 0; i < output.Features.Count; i++)
            Assert.Equal([5L, .. model.Features[i].Shape], output.Features[i].shape);
        Assert.True(output.Logits.allclose(module.call(x), Rtol, Atol), $"{name}: forward_features' logits differ from forward's.");
    }

    [Theory, MemberData(nameof(AllModels))]
    public void Last_feature_is_the_embedding_the_classifier_reads(string name)
    {
        using var module = Create(name);
        var model = (FeatureModel)module;
        var embedding = model.Features[^1];
        Assert.False(embedding.IsSpatial);
        var classifier = module.named_parameters().Single(p => p.name == "classifier.weight").parameter;
        Assert.Equal(new[] { model.NumClasses, embedding.Channels }, classifier.shape);
    }

    [Fact]
    public void Feature_declarations_are_the_documented_ones()
    {
        static string Show(nn.Module<Tensor, Tensor> m) { using (m) return string.Join("; ", ((FeatureModel)m).Features); }
        Assert.Equal("hidden1 [1200]; hidden2 [1200]", Show(Mlp.HintonTeacher()));
        Assert.Equal("hidden1 [800]; hidden2 [800]", Show(Mlp.HintonStudent()));
        Assert.Equal("hidden1 [32]", Show(Mlp.TinyStudent()));
        Assert.Equal("block1 [32, 14, 14]; block2 [64, 7, 7]; embedding [320]", Show(SmallCnn.Teacher()));
        Assert.Equal("block1 [8, 14, 14]; block2 [16, 7, 7]; embedding [128]", Show(SmallCnn.Student()));
        Assert.Equal("stage1 [16, 28, 28]; stage2 [32, 14, 14]; stage3 [64, 7, 7]; embedding [64]", Show(ResNet.ResNet20()));
        Assert.Equal(new FeatureInfo("x", [1, 2]), new FeatureInfo("x", new List<long> { 1, 2 }));
    }

    // Hand-computed parameter counts. A k×k convolution without bias has cin·cout·k² weights; batch norm has 2·c
    // (scale and shift; its running statistics are buffers); a linear layer has in·out + out.
    //
    // HintonTeacher  784·1200+1200 + 1200·1200+1200 + 1200·10+10 = 942,000 + 1,441,200 + 12,010 = 2,395,210
    // HintonStudent  784·800+800 + 800·800+800 + 800·10+10       = 628,000 +   640,800 +  8,010 = 1,276,810
    // TinyStudent    784·32+32 + 32·10+10                         =  25,120 +       330          =    25,450
    // SmallCnnTeacher conv 1·32·9 = 288, BN 64, conv 32·64·9 = 18,432, BN 128,
    //                 Linear 3136·320+320 = 1,003,840, Linear 320·10+10 = 3,210             total = 1,025,962
    // SmallCnnStudent conv 1·8·9 = 72, BN 16, conv 8·16·9 = 1,152, BN 32,
    //                 Linear 784·128+128 = 100,480, Linear 128·10+10 = 1,290                total =   103,042
    // ResNet20  stem conv 1·16·9 = 144 + BN 32                                                     =       176
    //           stage 1: 3 blocks × (2 × 16·16·9 + 2 × 32) = 3 × 4,672                             =    14,016
    //           stage 2: first block 16·32·9 + 64 + 32·32·9 + 64 + shortcut 16·32 + 64 = 14,528,
    //                    2 blocks × (2 × 32·32·9 + 2 × 64) = 2 × 18,560 = 37,120                   =    51,648
    //           stage 3: first block 32·64·9 + 128 + 64·64·9 + 128 + shortcut 32·64 + 128 = 57,728,
    //                    2 blocks × (2 × 64·64·9 + 2 × 128) = 2 × 73,984 = 147,968                 =   205,696
    //           classifier 64·10+10                                                                =       650
    //                                                                                        total =   272,186
    [Theory]
    [InlineData("HintonTeacher", 2_395_210)]
    [InlineData("HintonStudent", 1_276_810)]
    [InlineData("TinyStudent", 25_450)]
    [InlineData("SmallCnnTeacher", 1_025_962)]
    [InlineData("SmallCnnStudent", 103_042)]
    [InlineData("ResNet20", 272_186)]
    public void Parameter_counts_equal_the_hand_computed_ones(string name, long expected)
    {
        using var module = Create(name);
        Assert.Equal(expected, ((FeatureModel)module).ParameterCount());
        Assert.Equal(expected, ModelSize.ParameterCount(module));
    }

    // Hand-computed FLOPs per sample, 2 × multiply-adds of convolutions (2·cin·cout·k²·hout·wout) and linear layers
    // (2·in·out).
    //
    // HintonTeacher  2·(784·1200 + 1200·1200 + 1200·10) = 2·2,392,800 = 4,785,600
    // HintonStudent  2·(784·800 + 800·800 + 800·10)     = 2·1,275,200 = 2,550,400
    // TinyStudent    2·(784·32 + 32·10)                 = 2·25,408    =    50,816
    // SmallCnnTeacher 2·288·28·28 = 451,584; 2·18,432·14·14 = 7,225,344; 2·3136·320 = 2,007,040; 2·320·10 = 6,400
    //                                                                                      total = 9,690,368
    // SmallCnnStudent 2·72·784 = 112,896; 2·1,152·196 = 451,584; 2·784·128 = 200,704; 2·128·10 = 2,560
    //                                                                                      total =   767,744
    // ResNet20  stem 2·144·784 = 225,792
    //           stage 1 (28×28): 6 convs × 2·2,304·784 = 6 × 3,612,672                     = 21,676,032
    //           stage 2 (14×14): 2·4,608·196 = 1,806,336; 5 convs × 2·9,216·196 = 5 × 3,612,672;
    //                            shortcut 2·512·196 = 200,704                               = 20,070,400
    //           stage 3 (7×7):   2·18,432·49 = 1,806,336; 5 convs × 2·36,864·49 = 5 × 3,612,672;
    //                            shortcut 2·2,048·49 = 200,704                              = 20,070,400
    //           classifier 2·64·10 = 1,280
    //                                                                                      total = 62,043,904
    [Theory]
    [InlineData("HintonTeacher", 4_785_600)]
    [InlineData("HintonStudent", 2_550_400)]
    [InlineData("TinyStudent", 50_816)]
    [InlineData("SmallCnnTeacher", 9_690_368)]
    [InlineData("SmallCnnStudent", 767_744)]
    [InlineData("ResNet20", 62_043_904)]
    public void Flops_equal_the_hand_computed_ones(string name, long expected)
    {
        using var module = Create(name);
        Assert.Equal(expected, ((FeatureModel)module).FlopsPerSample());
    }

    [Fact]
    public void Flops_helpers_follow_their_formulas()
    {
        Assert.Equal(2 * 3 * 9 * 8 * 10 * 12, Flops.Conv2d(3, 8, 3, 10, 12));
        // Two groups: each output channel sees 4 / 2 = 2 input channels.
        Assert.Equal(2 * 2 * 9 * 8 * 5 * 5, Flops.Conv2d(4, 8, 3, 5, 5, groups: 2));
        Assert.Equal(2 * 5 * 7, Flops.Linear(5, 7));
        Assert.Throws<ArgumentException>(() => Flops.Conv2d(3, 8, 3, 5, 5, groups: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Flops.Linear(0, 7));
    }

    [Fact]
    public void A_small_model_is_sized_as_by_hand()
    {
        // SmallCnn(2, 3, 5): conv 1·2·9 = 18, BN 4, conv 2·3·9 = 54, BN 6, Linear 3·7·7·5+5 = 740, Linear 5·10+10 = 60.
        using var cnn = new SmallCnn(2, 3, 5);
        Assert.Equal(18 + 4 + 54 + 6 + 740 + 60, cnn.ParameterCount());
        // 2·18·28·28 + 2·54·14·14 + 2·147·5 + 2·5·10 = 28,224 + 21,168 + 1,470 + 100.
        Assert.Equal(28_224 + 21_168 + 1_470 + 100, cnn.FlopsPerSample());

        // Mlp(6, [4]): 6·4+4 + 4·3+3 = 43 parameters, 2·(6·4 + 4·3) = 72 FLOPs.
        using var mlp = new Mlp(6, [4], numClasses: 3);
        Assert.Equal(43, mlp.ParameterCount());
        Assert.Equal(72, mlp.FlopsPerSample());
        Assert.Equal("43 parameters, 0.00 MFLOPs per sample", ModelSize.Describe(mlp));
    }

    [Fact]
    public void SmallCnn_teacher_has_at_least_eight_times_the_students_parameters()
    {
        using var teacher = SmallCnn.Teacher();
        using var student = SmallCnn.Student();
        double ratio = (double)teacher.ParameterCount() / student.ParameterCount();
        Assert.True(ratio >= 8, $"teacher/student parameter ratio is {ratio:F2}");
    }

    [Fact]
    public void SmallCnn_feature_maps_pair_by_index_for_FitNets_and_attention_transfer()
    {
        using var teacher = SmallCnn.Teacher();
        using var student = SmallCnn.Student();
        using var scope = NewDisposeScope();
        var x = Batch();
        var t = teacher.forward_features(x);
        var s = student.forward_features(x);
        for (int i = 0; i < 2; i++)
        {
            using var hint = new HintLoss(student.Features[i].Channels, teacher.Features[i].Channels);
            Assert.True(hint.call(s.Features[i], t.Features[i]).item<float>() >= 0);
            Assert.True(new AttentionTransferLoss().call(s.Features[i], t.Features[i]).item<float>() >= 0);
            Assert.Equal(teacher.Features[i].Shape.Skip(1), student.Features[i].Shape.Skip(1));
        }
    }

    [Theory, MemberData(nameof(AllModels))]
    public void Gradients_reach_every_parameter_through_features_and_logits(string name)
    {
        using var module = Create(name);
        using var scope = NewDisposeScope();
        var output = ((FeatureModel)module).forward_features(Batch());
        var loss = output.Logits.pow(2).mean();
        foreach (var f in output.Features) loss = loss.add(f.mean());
        loss.backward();
        Assert.All(module.named_parameters(), p => Assert.True(p.parameter.grad is not null, $"{name}: {p.name} has no gradient"));
    }

    [Fact]
    public void Dropout_changes_train_mode_forwards_but_not_eval_mode_ones()
    {
        using var teacher = Mlp.HintonTeacher();
        using var scope = NewDisposeScope();
        var x = Batch();
        teacher.train();
        Assert.False(teacher.call(x).allclose(teacher.call(x)), "two training-mode forwards should drop different units");
        teacher.eval();
        Assert.True(teacher.call(x).eq(teacher.call(x)).all().item<bool>(), "evaluation-mode forwards must be deterministic");
    }

    [Theory, MemberData(nameof(AllModels))]
    public void To_cpu_puts_every_parameter_and_buffer_on_the_cpu(string name)
    {
        using var module = Create(name);
        AssertOnDevice(module.to(CPU), CPU, name);
    }

    /// <summary>Skipped, with the reason, without CUDA (the default CPU build); see <see cref="CudaTheoryAttribute"/>.</summary>
    [CudaTheory, MemberData(nameof(AllModels))]
    public void To_cuda_puts_every_parameter_and_buffer_on_the_gpu(string name)
    {
        using var module = Create(name);
        AssertOnDevice(module.to(CUDA), CUDA, name);
        using var scope = NewDisposeScope();
        var result = ((FeatureModel)module).forward_features(Batch().to(CUDA));
        Assert.All(result.Features.Append(result.Logits), f => Assert.Equal(DeviceType.CUDA, f.device_type));
    }

    static void AssertOnDevice(nn.Module module, Device device, string name)
    {
        var parameters = module.named_parameters().ToList();
        var buffers = module.named_buffers().ToList();
        Assert.NotEmpty(parameters);
        if (name is "SmallCnnTeacher" or "SmallCnnStudent" or "ResNet20")
            Assert.Contains(buffers, b => b.name == "bn1.running_var");
        foreach (var (n, t) in parameters.Select(p => (p.name, (Tensor)p.parameter)).Concat(buffers.Select(b => (b.name, b.buffer))))
            Assert.True(t.device_type == device.type, $"{name}: {n} is on {t.device}, not {device}");
    }

    [Theory, MemberData(nameof(AllModels))]
    public void Forward_features_leaves_no_live_tensors_once_the_scope_is_disposed(string name)
    {
        using var module = Create(name);
        var model = (FeatureModel)module;
        using var x = Batch();
        foreach (bool training in new[] { true, false })
        {
            module.train(training);
            var stats = DisposeScopeManager.Statistics;
            stats.Reset();
            using (var scope = NewDisposeScope())
            {
                var output = model.forward_features(x);
                // Only the outputs are still alive: every intermediate tensor was disposed inside the call.
                Assert.Equal(model.Features.Count + 1, stats.ThreadTotalLiveCount);
                Assert.All(output.Features.Append(output.Logits), f => Assert.True(scope.Contains(f)));
                module.call(x);
                Assert.Equal(model.Features.Count + 2, stats.ThreadTotalLiveCount);
            }
            Assert.True(stats.ThreadTotalLiveCount == 0, $"{name} (training={training}): {stats}");
        }
    }

    [Fact]
    public void Models_reject_inputs_of_the_wrong_shape()
    {
        using var mlp = Mlp.TinyStudent();
        using var cnn = SmallCnn.Student();
        using var resnet = ResNet.ResNet20();
        using var wrong = zeros(2, 1, 32, 32);
        Assert.Contains("784 elements", Assert.Throws<ArgumentException>(() => mlp.call(wrong)).Message);
        Assert.Contains("[B, 1, 28, 28]", Assert.Throws<ArgumentException>(() => cnn.call(wrong)).Message);
        Assert.Contains("[B, 1, 28, 28]", Assert.Throws<ArgumentException>(() => resnet.forward_features(wrong)).Message);
        using var flat = zeros(2, 784);
        using var logits = mlp.call(flat);
        Assert.Equal(new long[] { 2, 10 }, logits.shape);
        Assert.Throws<ArgumentException>(() => new Mlp(784, [], 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Mlp(784, [10], 10, inputDropout: 1.0));
    }

    /// <summary>The textbook order conv → batch norm → ReLU → max-pool, written with torch's functions and the model's own
    /// parameters (copies of its running statistics), against which <see cref="SmallCnn"/>'s pool-then-ReLU blocks are
    /// checked.</summary>
    static Tensor TextbookSmallCnn(SmallCnn model, Tensor images, bool training)
    {
        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        var b = model.named_buffers().ToDictionary(x => x.name, x => x.buffer);
        Tensor Block(Tensor x, string conv, string bn) =>
            F.max_pool2d(F.relu(F.batch_norm(F.conv2d(x, p[$"{conv}.weight"], padding: [1, 1]),
                b[$"{bn}.running_mean"].clone(), b[$"{bn}.running_var"].clone(), p[$"{bn}.weight"], p[$"{bn}.bias"], training: training)), 2);
        var h = Block(Block(images, "conv1", "bn1"), "conv2", "bn2");
        h = F.relu(F.linear(h.flatten(1), p["fc.weight"], p["fc.bias"]));
        return F.linear(h, p["classifier.weight"], p["classifier.bias"]);
    }

    [Fact]
    public void SmallCnn_pools_before_its_relu_and_gets_the_textbook_order_values_and_gradients_bit_for_bit()
    {
        manual_seed(4);
        using var model = SmallCnn.Student();
        // Inputs with whole windows of negative pre-activations, where the two orders pick different maxima.
        var images = randn(32, 1, 28, 28) - 0.5;
        var labels = randint(0, 10, [32], dtype: ScalarType.Int64);

        model.train();
        F.cross_entropy(model.call(images), labels).backward();
        var grads = model.parameters().Select(q => q.grad!.clone()).ToList();
        model.zero_grad();
        var reference = TextbookSmallCnn(model, images, training: true);
        F.cross_entropy(reference, labels).backward();
        Assert.All(model.parameters().Zip(grads), q => Assert.True(q.First.grad!.equal(q.Second).all().item<bool>(), "a gradient differs"));
        model.zero_grad();

        // Evaluation: with gradients (the plain layout) and without (the channels-last pooling) give the textbook logits and the same features.
        model.eval();
        var withGrad = model.forward_features(images);
        ModelOutput noGrad;
        using (no_grad()) noGrad = model.forward_features(images);
        Assert.True(withGrad.Logits.equal(TextbookSmallCnn(model, images, training: false)).all().item<bool>(), "the logits differ from the textbook order");
        Assert.True(withGrad.Logits.equal(noGrad.Logits).all().item<bool>(), "the logits differ without gradients");
        Assert.All(withGrad.Features.Zip(noGrad.Features), f => Assert.True(f.First.equal(f.Second).all().item<bool>(), "a feature differs without gradients"));
        Assert.True(noGrad.Features[0].is_contiguous(), "the pooled features go on in the plain layout");
    }
}

using System.Globalization;
using System.Text.Json;
using KnowledgeDistillation.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Tests;

/// <summary>
/// Every loss in <c>lib/KnowledgeDistillation/Losses/</c> against golden values from an independent implementation:
/// <c>Fixtures/losses/make_loss_fixtures.py</c> writes each paper's formula in plain PyTorch (float64) and records the
/// inputs, the loss and its gradients in <c>Fixtures/losses/losses.json</c>. These tests need no Python.
/// </summary>
public class GoldenLossTests
{
    // Both sides compute in float64 from identical inputs; they differ only in the order of floating-point operations
    // (e.g. logsumexp vs the mixture in probability space, ‖a‖²+‖b‖²−2ab vs explicit differences), a few ulps per
    // operation over short chains. Every case agrees to rtol 1e-13 / atol 1e-16 on x64 CPU (measured when the fixture was
    // made); 1e-9 leaves room for other CPUs' and libtorch builds' summation orders, yet a 1e-8 relative change to a single
    // expected value already fails, and a formula error (a wrong constant, sign, mean vs sum, missing T²) is ≥ 1e-3.
    const double Rtol = 1e-9;
    // Some expected entries are exactly zero (masked tokens, gradients that cancel); rounding leaves ~1e-17 there.
    const double Atol = 1e-12;

    static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "losses", "losses.json");

    static readonly Lazy<Dictionary<string, JsonElement>> Fixture = new(() =>
    {
        using var stream = File.OpenRead(FixturePath);
        using var doc = JsonDocument.Parse(stream);
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.Clone());
    });

    public static IEnumerable<object[]> CaseNames() =>
        File.Exists(FixturePath) ? Fixture.Value.Keys.Select(name => new object[] { name }) : [];

    [Fact]
    public void Fixture_file_is_present_and_has_cases()
    {
        Assert.True(File.Exists(FixturePath),
            $"The golden-value fixture {FixturePath} is missing. It is committed as " +
            "tests/KnowledgeDistillation.Tests/Fixtures/losses/losses.json and copied to the output by the csproj; " +
            "regenerate it with `/usr/bin/python3 make_loss_fixtures.py` in that folder (needs apt-get install python3-torch).");
        Assert.True(Fixture.Value.Count >= 40, $"The fixture has only {Fixture.Value.Count} cases.");
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Loss_matches_golden_values(string name)
    {
        var c = Fixture.Value[name];
        using var scope = NewDisposeScope();
        var p = c.GetProperty("params");
        var x = Inputs(c.GetProperty("inputs"));
        var s = x["student"].requires_grad_(true);

        // What the C# code computed: name → tensor, matching the fixture's "expected" keys.
        var actual = new Dictionary<string, Tensor>();
        Tensor value;
        switch (c.GetProperty("loss").GetString())
        {
            case "SoftTargets.Probabilities":
                value = SoftTargets.Probabilities(s, Num(p, "T"));
                value.mul(x["grad_output"]).sum().backward();
                break;
            case "SoftTargets.LogProbabilities":
                value = SoftTargets.LogProbabilities(s, Num(p, "T"));
                value.mul(x["grad_output"]).sum().backward();
                break;
            case "SoftTargets.Entropy":
                value = SoftTargets.Entropy(s);
                value.mul(x["grad_output"]).sum().backward();
                break;
            case "KLDivergence.BatchMean":
                value = KLDivergence.BatchMean(s, x["teacher"]);
                value.backward();
                break;
            case "KLDivergence.SoftCrossEntropy":
                value = KLDivergence.SoftCrossEntropy(s, x["teacher"]);
                value.backward();
                break;
            case "HintonKDLoss":
            {
                var loss = new HintonKDLoss(Num(p, "T"), Num(p, "alpha"), Enum.Parse<SoftTargetForm>(Str(p, "form")));
                var terms = loss.Terms(s, x["teacher"], x["labels"]);
                actual["soft"] = terms.Soft;
                actual["hard"] = terms.Hard;
                value = loss.call(s, x["teacher"], x["labels"]);
                value.backward();
                break;
            }
            case "LogitMatchingLoss":
                value = new LogitMatchingLoss(Enum.Parse<LogitMatching>(Str(p, "kind"))).call(s, x["teacher"]);
                value.backward();
                break;
            case "ReverseKLLoss":
            {
                var loss = new ReverseKLLoss(Num(p, "T"));
                value = x.TryGetValue("mask", out var mask) ? loss.Compute(s, x["teacher"], mask) : loss.call(s, x["teacher"]);
                value.backward();
                break;
            }
            case "GeneralizedJSDLoss":
            {
                var loss = new GeneralizedJSDLoss(Num(p, "beta"), Num(p, "T"));
                value = x.TryGetValue("mask", out var mask) ? loss.Compute(s, x["teacher"], mask) : loss.call(s, x["teacher"]);
                value.backward();
                break;
            }
            case "HintLoss":
            {
                var loss = new HintLoss(p.GetProperty("studentWidth").GetInt64(), p.GetProperty("teacherWidth").GetInt64(),
                    p.GetProperty("spatial").GetBoolean());
                // Modules are created in float32 with random weights: switch to float64 and load the fixture's regressor.
                loss.to(ScalarType.Float64);
                var parameters = loss.named_parameters().ToDictionary(np => np.name, np => np.parameter);
                Assert.Equal(["regressor.bias", "regressor.weight"], parameters.Keys.Order());
                using (no_grad())
                {
                    foreach (var (key, parameter) in parameters) parameter.copy_(x[key]);
                }
                value = loss.call(s, x["teacher"]);
                value.backward();
                foreach (var (key, parameter) in parameters) actual["grad." + key] = parameter.grad!;
                break;
            }
            case "AttentionTransferLoss":
                value = new AttentionTransferLoss(Num(p, "p")).call(s, x["teacher"]);
                value.backward();
                break;
            case "CosineHiddenLoss":
                value = new CosineHiddenLoss().call(s, x["teacher"]);
                value.backward();
                break;
            case "RkdDistanceLoss":
                value = new RkdDistanceLoss().call(s, x["teacher"]);
                value.backward();
                break;
            case "RkdAngleLoss":
                value = new RkdAngleLoss().call(s, x["teacher"]);
                value.backward();
                break;
            case "SimilarityPreservingLoss":
                value = new SimilarityPreservingLoss().call(s, x["teacher"]);
                value.backward();
                break;
            case "PktLoss":
                value = new PktLoss().call(s, x["teacher"]);
                value.backward();
                break;
            case "DistillationObjective":
            {
                var objective = new DistillationObjective(
                    DistillationTerms.CrossEntropy(Num(p, "ce")),
                    DistillationTerms.Soft(Num(p, "T"), Num(p, "kd")),
                    DistillationTerms.Logits(Num(p, "logits")));
                var result = objective.Compute(new DistillationBatch(s, x["teacher"], x["labels"]));
                foreach (var (term, v) in result.Terms) actual[term] = v;
                value = result.Total;
                value.backward();
                break;
            }
            default:
                throw new InvalidOperationException($"Case '{name}': no C# mapping for loss '{c.GetProperty("loss").GetString()}'.");
        }
        actual["value"] = value;
        actual["grad.student"] = s.grad ?? throw new InvalidOperationException($"Case '{name}': no gradient reached the student input.");

        var expected = c.GetProperty("expected");
        Assert.Equal(expected.EnumerateObject().Select(e => e.Name).Order(), actual.Keys.Order());
        foreach (var e in expected.EnumerateObject())
            AssertAllClose(name, e.Name, e.Value, actual[e.Name]);
    }

    static void AssertAllClose(string caseName, string key, JsonElement expected, Tensor actual)
    {
        var shape = expected.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        Assert.True(shape.SequenceEqual(actual.shape),
            $"{caseName} / {key}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", shape)}].");
        Assert.Equal(ScalarType.Float64, actual.dtype);
        var want = expected.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var got = actual.detach().cpu().contiguous().data<double>().ToArray();
        Assert.Equal(want.Length, got.Length);
        // allclose: |got − want| ≤ atol + rtol·|want| for every element (NaN fails). Report the worst offender.
        int worstAt = -1;
        double worst = 0;
        for (int i = 0; i < want.Length; i++)
        {
            double excess = Math.Abs(got[i] - want[i]) - (Atol + Rtol * Math.Abs(want[i]));
            if (double.IsNaN(excess)) excess = double.PositiveInfinity;
            if (excess > worst) (worst, worstAt) = (excess, i);
        }
        if (worstAt >= 0)
            Assert.Fail($"{caseName} / {key}: element {worstAt} is {got[worstAt].ToString("R", CultureInfo.InvariantCulture)}, " +
                $"expected {want[worstAt].ToString("R", CultureInfo.InvariantCulture)} " +
                $"(|diff| = {Math.Abs(got[worstAt] - want[worstAt]):E3}; rtol {Rtol:E0}, atol {Atol:E0}).");
    }

    static Dictionary<string, Tensor> Inputs(JsonElement inputs)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var input in inputs.EnumerateObject())
        {
            var shape = input.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var values = input.Value.GetProperty("values");
            result[input.Name] = input.Value.GetProperty("dtype").GetString() switch
            {
                "float64" => tensor(values.EnumerateArray().Select(v => v.GetDouble()).ToArray(), shape, dtype: ScalarType.Float64),
                "int64" => tensor(values.EnumerateArray().Select(v => v.GetInt64()).ToArray(), shape, dtype: ScalarType.Int64),
                var other => throw new InvalidOperationException($"Input '{input.Name}' has unknown dtype '{other}'."),
            };
        }
        return result;
    }

    static double Num(JsonElement p, string key) => p.GetProperty(key).GetDouble();

    static string Str(JsonElement p, string key) => p.GetProperty(key).GetString()!;
}

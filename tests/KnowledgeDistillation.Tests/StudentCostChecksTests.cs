using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Training;
using static TorchSharp.torch;
using static KnowledgeDistillation.Tests.CheckAssert;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-checks of notebook 07: right answers pass, and each typical mistake is named.</summary>
public class StudentCostChecksTests
{
    [Fact]
    public void Conv_cost_reference_answer_passes()
    {
        Passes(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, 2 * cin * k * k * cout * h * w)));
    }

    [Fact]
    public void Conv_cost_mistakes_are_named()
    {
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout, 2 * cin * k * k * cout * h * w)), "forgot the bias");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * cout + cout, 2 * cin * k * k * cout * h * w)), "k² weights");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => ((cin * k * k * cout + cout) * h * w, 2 * cin * k * k * cout * h * w)), "shared by every output position");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, cin * k * k * cout * h * w)), "FLOPs", "multiply-adds");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, 2 * cin * k * k * cout)), "every output position: multiply by hout · wout");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, 2 * cin * k * k * cout * h * w + cout * h * w)), "bias additions");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, cin * k * k * cout)), "2 things to fix", "multiply-adds", "hout · wout");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (cin * k * k * cout + cout, 1)), "Flops.Conv2d counts");
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => throw new InvalidOperationException("todo")), "threw InvalidOperationException");
    }

    [Fact]
    public void Conv_cost_must_use_its_parameters()
    {
        // Right for the first layer only: the second setting catches fixed numbers.
        FailsWith(StudentCostChecks.CheckConvCost((cin, cout, k, h, w) => (140, 2 * 3 * 9 * 5 * 7 * 6)), "nn.Conv2d(8, 16");
    }

    /// <summary>ECE written out with a loop, with switches for the usual mistakes.</summary>
    static double Ece(Tensor confidence, Tensor correct, int bins, bool weighted = true, bool abs = true, bool round = false, bool clamp = true, int? fixedBins = null)
    {
        bins = fixedBins ?? bins;
        var c = confidence.data<double>().ToArray();
        var ok = correct.data<bool>().ToArray();
        var count = new double[bins];
        var conf = new double[bins];
        var acc = new double[bins];
        for (int i = 0; i < c.Length; i++)
        {
            int b = (int)(round ? Math.Round(c[i] * bins) : Math.Floor(c[i] * bins));
            if (clamp) b = Math.Min(b, bins - 1);
            count[b]++;
            conf[b] += c[i];
            acc[b] += ok[i] ? 1 : 0;
        }
        double sum = 0;
        int used = 0;
        for (int b = 0; b < bins; b++)
        {
            if (count[b] == 0) continue;
            double gap = acc[b] / count[b] - conf[b] / count[b];
            if (abs) gap = Math.Abs(gap);
            sum += weighted ? count[b] / c.Length * gap : gap;
            used++;
        }
        return weighted ? sum : sum / used;
    }

    [Fact]
    public void Ece_reference_answers_pass()
    {
        Passes(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Ece(c, ok, bins)));
        Passes(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Evaluator.ExpectedCalibrationError(c, ok, bins)));
        Passes(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Calibration.Reliability(c, ok, bins).Ece));
    }

    [Fact]
    public void Ece_mistakes_are_named()
    {
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Ece(c, ok, bins, weighted: false)), "Weight each bin", "n_b / N");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Ece(c, ok, bins, abs: false)), "absolute value");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Ece(c, ok, bins, round: true)), "rounded");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Ece(c, ok, bins, clamp: false)), "threw", "clamp the bin index");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Ece(c, ok, bins, fixedBins: 10)), "right for 10 bins but not for 15");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => Ece(c, ok, bins, weighted: false, abs: false)), "2 things to fix", "Weight", "absolute");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => double.NaN), "returned NaN");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => 0.5), "but the ECE is");
    }

    [Fact]
    public void Ece_with_right_closed_bins_or_too_few_bins_is_named()
    {
        // (b/B, (b+1)/B]: ceil − 1. bins − 1 bins: floor(c · (B − 1)).
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError(ManualRightClosed), "closed on the right");
        FailsWith(StudentCostChecks.CheckExpectedCalibrationError((c, ok, bins) => ManualBins(c, ok, bins, bins - 1)), "bins − 1 bins");
    }

    static double ManualRightClosed(Tensor confidence, Tensor correct, int bins)
    {
        var bin = confidence.mul(bins).ceil().sub(1).clamp(0, bins - 1).to_type(ScalarType.Int64);
        return Weighted(bin, confidence, correct, bins);
    }

    static double ManualBins(Tensor confidence, Tensor correct, int bins, int count)
    {
        var bin = confidence.mul(count).floor().clamp(0, count - 1).to_type(ScalarType.Int64);
        return Weighted(bin, confidence, correct, count);
    }

    static double Weighted(Tensor bin, Tensor confidence, Tensor correct, int count)
    {
        var conf = bincount(bin, confidence, minlength: count);
        var acc = bincount(bin, correct.to_type(ScalarType.Float64), minlength: count);
        return acc.sub(conf).abs().sum().div(confidence.shape[0]).item<double>();
    }
}

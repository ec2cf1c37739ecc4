using System.Diagnostics;
using KnowledgeDistillation.Language;
using KnowledgeDistillation.Training;
using Microsoft.Data.Analysis;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Experiments;

/// <summary>The settings of the reasoning-distillation experiment: splits, the teacher's and the students' training.</summary>
/// <remarks>
/// All timings were measured on a shared 2-core CPU with <c>torch.set_num_threads(1)</c>: with other processes on the
/// cores, one torch thread was about 7× faster than two (a teacher step of 64 sequences took 0.36 s instead of 2.6 s),
/// because torch's worker threads wait for each other on every operation. On an idle machine more threads help.
/// </remarks>
/// <param name="Splits">The problems.</param>
/// <param name="Teacher">How the teacher trains (chain-of-thought SFT): 1,500 steps at lr 2e-3, as the shipped
/// <c>char-lm-teacher</c> was (730 s; 99.8 % exact match in distribution).</param>
/// <param name="Student">How each student trains, whatever its regime.</param>
/// <param name="Distillation">T and alpha of token KD, and the teacher's sampling for sequence KD.</param>
/// <param name="EvaluationProblems">Problems of each test split used for exact match (the first ones).</param>
/// <param name="Seeds">Students per regime, with seeds 0, 1, …, Seeds − 1 (the seed sets the initial weights and the batch order).</param>
public sealed record LmExperimentSettings(
    AdditionSplitOptions Splits, TrainingOptions Teacher, TrainingOptions Student, LmDistillationOptions Distillation, int EvaluationProblems,
    int Seeds = 1)
{
    /// <summary>
    /// About 2 minutes for the four students with the shipped teacher: 300 steps of 64 sequences per student (120 s
    /// measured through <see cref="LmExperiment.RunStudent"/>, evaluation included, on a heavily loaded CPU).
    /// </summary>
    /// <remarks>
    /// Measured on the shared 2-core CPU, one torch thread, seed 0, exact match on the first 300 test problems:
    /// answers only 2.0 % (4 s), ground-truth chains 68.3 % (17 s), sequence KD 68.7 % (26 s, of which 14 s sampling
    /// 8,000 chains, 99.9 % accepted), token KD 68.0 % at T = 2 (26 s, of which ~11 s for the teacher's logits);
    /// token KD at T = 1 gave 68.7 % and at T = 4 69.3 %. 0 % on the 4-digit held-out problems for every student.
    /// </remarks>
    public static LmExperimentSettings Quick { get; } = new(
        new AdditionSplitOptions(Seed: 0, Train: 8000, Validation: 500, Test: 500),
        LmTrainer.DefaultOptions with { Steps = 1500, LearningRate = 2e-3 },
        LmTrainer.DefaultOptions with { Steps = 300, LearningRate = 3e-3 },
        new LmDistillationOptions(),
        EvaluationProblems: 300);

    /// <summary>
    /// About 4 minutes with the shipped teacher: the four students with 1,000 steps each, for 3 seeds, sharing the
    /// teacher's chains and logits (<see cref="LmTeacherOutputs"/>): 250 s measured for the notebook's cell of 12 runs,
    /// evaluation and learning curves included, in the real kernel on 2 idle cores (741 s before, on a heavily loaded
    /// CPU, with the teacher's outputs computed for every seed); 12 more minutes to retrain the teacher with
    /// <see cref="LmExperiment.TrainTeacher"/> (1,500 steps, 730 s).
    /// </summary>
    /// <remarks>
    /// Measured exact match on the 500 in-distribution test problems, seeds 0 / 1 / 2 (mean): answers only 38.4 / 31.0 /
    /// 58.6 % (42.7 %), ground-truth chains 99.8 / 99.8 / 99.2 % (99.6 %), sequence KD 99.6 / 99.0 / 98.6 % (99.1 %;
    /// 99.9 % of the teacher's sampled chains accepted), token KD at T = 2 98.4 / 98.0 / 99.6 % (98.7 %). Every student,
    /// like the teacher, scores 0 % on the 4-digit held-out problems. Per seed: answers only ~20 s, chains ~60 s,
    /// sequence KD ~80 s (sampling included), token KD ~75 s (the teacher's logits included).
    /// </remarks>
    public static LmExperimentSettings Full { get; } = new(
        new AdditionSplitOptions(Seed: 0, Train: 8000, Validation: 500, Test: 500),
        LmTrainer.DefaultOptions with { Steps = 1500, LearningRate = 2e-3 },
        LmTrainer.DefaultOptions with { Steps = 1000, LearningRate = 3e-3 },
        new LmDistillationOptions(),
        EvaluationProblems: 500,
        Seeds: 3);
}

/// <summary>How one student did.</summary>
/// <param name="Mode">Its regime.</param>
/// <param name="TestAccuracy">Greedy exact match on the in-distribution test problems.</param>
/// <param name="TestLongerAccuracy">Greedy exact match on the held-out longer numbers.</param>
/// <param name="ValidationTokenLoss">Cross entropy per completion token on the validation split, in the format the student
/// learnt (answers only for <see cref="LmDistillationMode.AnswersOnly"/>, chains otherwise).</param>
/// <param name="TrainingSeconds">Wall time of the regime: the teacher's sampling or logits included when this run computed
/// them (see <see cref="TeacherSeconds"/>), evaluation excluded.</param>
/// <param name="Result">The training history, and for sequence KD the teacher's samples and acceptance rate.</param>
public sealed record LmStudentReport(LmDistillationMode Mode, double TestAccuracy, double TestLongerAccuracy, double ValidationTokenLoss,
    double TrainingSeconds, LmDistillationResult Result)
{
    /// <summary>The part of <see cref="TrainingSeconds"/> that the teacher's sampling or logits took in this run: 0 when the
    /// run had none, or read them from shared outputs (<see cref="LmTeacherOutputs"/>) that an earlier run computed.</summary>
    public double TeacherSeconds { get; init; }

    /// <summary>The student's own training: <see cref="TrainingSeconds"/> without <see cref="TeacherSeconds"/>.</summary>
    public double StudentSeconds => TrainingSeconds - TeacherSeconds;

    /// <summary>Sequence KD: the fraction of the teacher's sampled chains that were correct; otherwise null.</summary>
    public double? AcceptanceRate => Result.Samples?.AcceptanceRate;

    /// <summary>The learning curve, when <see cref="LmExperiment.RunStudent"/> was asked for one: greedy exact match on
    /// the curve's problems after every few steps; empty otherwise.</summary>
    public IReadOnlyList<LmCurvePoint> Curve { get; init; } = [];
}

/// <summary>One point of a student's learning curve.</summary>
/// <param name="Step">Optimiser steps done.</param>
/// <param name="Sequences">Training sequences seen so far (steps × batch size).</param>
/// <param name="Accuracy">Greedy exact match on the curve's problems at that point.</param>
public sealed record LmCurvePoint(int Step, long Sequences, double Accuracy);

/// <summary>
/// The experiment of DeepSeek-R1-Distill at laptop scale: a chain-of-thought teacher, and students of 1/10 its size
/// trained four ways (<see cref="LmDistillationMode"/>), compared by exact match in distribution and on longer numbers.
/// </summary>
public static class LmExperiment
{
    /// <summary>One row per student: mode, test and held-out exact match, validation token loss, seconds, acceptance rate.</summary>
    public static DataFrame ToDataFrame(IEnumerable<LmStudentReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var list = reports.ToList();
        return new DataFrame(
            new StringDataFrameColumn("mode", list.Select(r => r.Mode.ToString())),
            new PrimitiveDataFrameColumn<double>("test_acc", list.Select(r => r.TestAccuracy)),
            new PrimitiveDataFrameColumn<double>("test_longer_acc", list.Select(r => r.TestLongerAccuracy)),
            new PrimitiveDataFrameColumn<double>("val_token_loss", list.Select(r => r.ValidationTokenLoss)),
            new PrimitiveDataFrameColumn<double>("seconds", list.Select(r => r.TrainingSeconds)),
            new PrimitiveDataFrameColumn<double>("acceptance", list.Select(r => r.AcceptanceRate)));
    }

    /// <summary>The shipped teacher's name in <c>datasets/pretrained/</c>.</summary>
    public const string TeacherName = "char-lm-teacher";

    /// <summary>A teacher (<see cref="TinyGptConfig.Teacher"/>, seeded with <paramref name="seed"/>) trained on the training
    /// split's chains of thought.</summary>
    public static (TinyGpt Teacher, LmTrainingResult Training) TrainTeacher(AdditionSplits splits, TrainingOptions options, long seed = 0,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(splits);
        manual_seed(seed);
        var teacher = TinyGpt.Teacher();
        var training = LmTrainer.Train(teacher, CharVocabulary.Default, AdditionTask.Examples(splits.Train, ReasoningFormat.ChainOfThought),
            options with { Seed = seed }, new TrainingCallbacks { Progress = progress, Cancellation = cancellation });
        teacher.eval();
        return (teacher, training);
    }

    /// <summary>
    /// Trains a fresh student (<see cref="TinyGptConfig.Student"/>, seeded with <paramref name="seed"/>, so every regime
    /// starts from the same weights) in <paramref name="mode"/> and evaluates it.
    /// </summary>
    /// <param name="mode">The regime.</param>
    /// <param name="teacher">The teacher; needed by the distillation regimes only.</param>
    /// <param name="splits">The problems.</param>
    /// <param name="settings">How the student trains and how many problems it is evaluated on.</param>
    /// <param name="seed">The student's seed.</param>
    /// <param name="progress">Called every few steps with the step and the loss.</param>
    /// <param name="cancellation">Cancels between steps.</param>
    /// <param name="curveProblems">When given, the student's greedy exact match on these problems is measured every
    /// <paramref name="curveEverySteps"/> steps and after the last, into <see cref="LmStudentReport.Curve"/>. Greedy
    /// generation uses no random numbers, so the curve does not change the training; its time is excluded from the
    /// report's seconds.</param>
    /// <param name="curveEverySteps">Steps between two points of the curve; a multiple of the training options'
    /// <see cref="TrainingOptions.ProgressEveryBatches"/>.</param>
    /// <param name="shared">The teacher's chains and logits on <paramref name="splits"/>' training problems, shared by the
    /// students of several seeds (<see cref="LmTeacherOutputs"/>; the same students, computed once).</param>
    public static (TinyGpt Student, LmStudentReport Report) RunStudent(LmDistillationMode mode, TinyGpt? teacher, AdditionSplits splits,
        LmExperimentSettings settings, long seed = 0, Action<TrainingProgress>? progress = null, CancellationToken cancellation = default,
        IReadOnlyList<AdditionProblem>? curveProblems = null, int curveEverySteps = 50, LmTeacherOutputs? shared = null)
    {
        ArgumentNullException.ThrowIfNull(splits);
        ArgumentNullException.ThrowIfNull(settings);
        int every = settings.Student.ProgressEveryBatches;
        if (curveProblems is not null && (curveEverySteps < every || curveEverySteps % every != 0))
            throw new ArgumentOutOfRangeException(nameof(curveEverySteps), curveEverySteps, $"curveEverySteps must be a positive multiple of the progress interval, {every} steps.");
        manual_seed(seed);
        var student = TinyGpt.Student();
        var curve = new List<LmCurvePoint>();
        var curveClock = new Stopwatch();
        void Report(TrainingProgress p)
        {
            if (curveProblems is not null && (p.Step % curveEverySteps == 0 || p.Step == p.Steps) && (curve.Count == 0 || curve[^1].Step != p.Step))
            {
                curveClock.Start();
                curve.Add(new LmCurvePoint(p.Step, (long)p.Step * settings.Student.BatchSize, LmEvaluator.ExactMatch(student, curveProblems).Accuracy));
                curveClock.Stop();
            }
            progress?.Invoke(p);
        }
        // Without shared outputs the run computes its own, through the same object, so that the teacher's time is measured alike.
        using var own = shared is null && teacher is not null && mode is LmDistillationMode.SequenceKD or LmDistillationMode.TokenKD
            ? new LmTeacherOutputs(teacher, splits.Train) : null;
        var outputs = shared ?? own;
        var teacherBefore = outputs?.Elapsed ?? TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        var result = LmTrainer.Distill(mode, student, teacher, splits.Train, settings.Student with { Seed = seed }, settings.Distillation,
            callbacks: new TrainingCallbacks { Progress = Report, Cancellation = cancellation }, shared: outputs);
        double seconds = clock.Elapsed.TotalSeconds - curveClock.Elapsed.TotalSeconds;
        double teacherSeconds = outputs is null ? 0 : (outputs.Elapsed - teacherBefore).TotalSeconds;
        var format = mode == LmDistillationMode.AnswersOnly ? ReasoningFormat.AnswerOnly : ReasoningFormat.ChainOfThought;
        var report = new LmStudentReport(mode,
            LmEvaluator.ExactMatch(student, [.. splits.Test.Take(settings.EvaluationProblems)]).Accuracy,
            LmEvaluator.ExactMatch(student, [.. splits.TestLonger.Take(settings.EvaluationProblems)]).Accuracy,
            LmEvaluator.TokenLoss(student, AdditionTask.Examples(splits.Validation, format)),
            seconds, result) { Curve = curve, TeacherSeconds = teacherSeconds };
        return (student, report);
    }
}

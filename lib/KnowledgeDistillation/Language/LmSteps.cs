using KnowledgeDistillation.Losses;
using KnowledgeDistillation.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace KnowledgeDistillation.Language;

/// <summary>
/// The language model's kinds of training step for the engine (<see cref="Trainer"/>): next-token cross entropy on fixed
/// sequences (supervised fine-tuning and sequence-level KD), token-level KD against a teacher's logits, and on-policy KD
/// on the student's own samples. Each puts its token sequences on the run's device; none reads the device per step,
/// except the on-policy step's sampling (see <see cref="OnPolicyStep"/>).
/// </summary>
static class LmSteps
{
    /// <summary>Mean next-token cross entropy over the completion tokens of fixed sequences.</summary>
    internal sealed class SequenceStep(TinyGpt model, LmSequences sequences) : Trainer.IStep, IDisposable
    {
        LmSequences? onDevice;

        public long Count => sequences.Count;

        public void Prepare(Device device, TrainingOptions options) => onDevice = sequences.To(device);

        public Trainer.StepOutput Loss(Trainer.StepBatch batch)
        {
            var (x, y, m) = onDevice!.Batch(batch.Index, batch.HostIndex.data<long>().ToArray());
            return new(LmTrainer.MaskedCrossEntropy(model.call(x), y, m), null, NoTerms);
        }

        public void Dispose() => onDevice?.Dispose();
    }

    /// <summary>
    /// <see cref="TokenKDLoss"/> between the student's and the frozen teacher's next-token logits on the completion tokens.
    /// With <see cref="TrainingOptions.CacheTeacherOutputs"/> (the default) the teacher's logits for every sequence are
    /// computed once, in evaluation mode under <c>no_grad</c>, and kept on the device: the sequences never change, so this
    /// is exact (8,000 sequences of 44 tokens take 28 MB).
    /// </summary>
    /// <remarks>With <paramref name="shared"/> the logits come from (and stay with) the shared outputs, computed by the
    /// first student that needs them.</remarks>
    internal sealed class TokenKDStep(TinyGpt student, TinyGpt teacher, LmSequences sequences, TokenKDLoss loss, LmTeacherOutputs? shared = null)
        : Trainer.IStep, IDisposable
    {
        readonly bool teacherWasTraining = teacher.training;
        LmSequences? onDevice;
        Tensor? teacherLogits;

        public long Count => sequences.Count;

        public void Prepare(Device device, TrainingOptions options)
        {
            onDevice = sequences.To(device);
            teacher.to(device);
            teacher.eval();
            if (options.CacheTeacherOutputs)
                teacherLogits = shared is not null ? shared.Logits(onDevice, options.EvaluationBatchSize) : TeacherLogits(teacher, onDevice, options.EvaluationBatchSize);
        }

        public Trainer.StepOutput Loss(Trainer.StepBatch batch)
        {
            var (x, y, m) = onDevice!.Batch(batch.Index, batch.HostIndex.data<long>().ToArray());
            Tensor t;
            if (teacherLogits is not null)
            {
                t = teacherLogits.index_select(0, batch.Index).narrow(1, 0, x.shape[1]);
            }
            else
            {
                using var noGrad = no_grad();
                t = teacher.call(x);
            }
            return new(loss.Compute(student.call(x), t, y, m), null, NoTerms);
        }

        public void Dispose()
        {
            if (shared is null) teacherLogits?.Dispose();
            onDevice?.Dispose();
            teacher.train(teacherWasTraining);
        }
    }

    /// <summary>The teacher's logits [N, L, V] for every sequence, in batches, in evaluation mode under <c>no_grad</c>
    /// (the teacher gets its mode back).</summary>
    internal static Tensor TeacherLogits(TinyGpt teacher, LmSequences sequences, int batchSize)
    {
        bool wasTraining = teacher.training;
        teacher.eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var parts = new List<Tensor>();
            for (int from = 0; from < sequences.Count; from += batchSize)
            {
                var rows = sequences.Inputs.narrow(0, from, Math.Min(batchSize, sequences.Count - from));
                parts.Add(teacher.call(rows));
            }
            return cat(parts, 0).MoveToOuterDisposeScope();
        }
        finally
        {
            teacher.train(wasTraining);
        }
    }

    /// <summary>
    /// On-policy KD: the student samples a completion for each prompt of the batch (in evaluation mode, under
    /// <c>no_grad</c>, with a seed that moves with the step), and <c>divergence(student logits, teacher logits, mask)</c>
    /// is minimised over the completion tokens it wrote.
    /// </summary>
    /// <remarks>
    /// The batch's prompts come from the host's copy of the batch order, and the sequences it writes go to the device as
    /// they are built. Sampling itself reads each new token on the host, to stop at the end token and to write the text:
    /// that is the one per-step wait for the device left in any training step. A sampler that decoded a fixed number of
    /// tokens on the device would draw other random numbers, so the runs would no longer match the ones before.
    /// </remarks>
    internal sealed class OnPolicyStep(TinyGpt student, TinyGpt teacher, CharVocabulary vocabulary, IReadOnlyList<string> prompts,
        GenerationOptions sampling, Func<Tensor, Tensor, Tensor?, Tensor> divergence) : Trainer.IStep, IDisposable
    {
        readonly bool teacherWasTraining = teacher.training;
        readonly int context = Math.Min(student.Config.ContextLength, teacher.Config.ContextLength);
        Device device = CPU;

        public long Count => prompts.Count;

        public void Prepare(Device device, TrainingOptions options)
        {
            this.device = device;
            teacher.to(device);
            teacher.eval();
        }

        public Trainer.StepOutput Loss(Trainer.StepBatch batch)
        {
            var batchPrompts = batch.HostIndex.data<long>().Select(i => prompts[(int)i]).ToList();
            var written = TextGenerator.Generate(student, vocabulary, batchPrompts, sampling with { Seed = sampling.Seed + batch.Step - 1 });
            using var sequences = LmSequences.Create(vocabulary, [.. batchPrompts.Select((p, i) => new LmExample(p, written.Completions[i]))], context, device);
            Tensor teacherLogits;
            using (no_grad()) teacherLogits = teacher.call(sequences.Inputs);
            return new(divergence(student.call(sequences.Inputs), teacherLogits, sequences.LossMask), null, NoTerms);
        }

        public void Dispose() => teacher.train(teacherWasTraining);
    }

    static readonly IReadOnlyDictionary<string, Tensor> NoTerms = new Dictionary<string, Tensor>();
}

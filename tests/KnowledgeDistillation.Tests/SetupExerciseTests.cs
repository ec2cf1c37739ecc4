using KnowledgeDistillation.Exercises;
using KnowledgeDistillation.Setup;

using static KnowledgeDistillation.Tests.CheckAssert;

namespace KnowledgeDistillation.Tests;

/// <summary>The self-check of notebook 00's exercise 2: <c>KdEnvironment.Pick(full: 256, quick: 32)</c> in either mode.</summary>
public class SetupExerciseTests
{
    [Theory]
    [InlineData(false, 256)]
    [InlineData(true, 32)]
    public void The_batch_size_of_the_mode_passes(bool quick, int batchSize)
    {
        Passes(SetupChecks.CheckBatchSize(batchSize, quick));
        Assert.Contains(quick ? "in quick mode" : "in a full run", SetupChecks.CheckBatchSize(batchSize, quick).Message);
    }

    [Theory]
    [InlineData(false, 32)]
    [InlineData(true, 256)]
    public void The_other_modes_value_is_named_as_swapped_or_fixed(bool quick, int batchSize) =>
        FailsWith(SetupChecks.CheckBatchSize(batchSize, quick), "the other mode's value", "swapped", "fixed instead of picked");

    [Fact]
    public void Any_other_value_is_rejected_with_the_rule()
    {
        FailsWith(SetupChecks.CheckBatchSize(64, quickMode: true), "got 64, expected 32 in quick mode", "returns the second value in quick mode");
        FailsWith(SetupChecks.CheckBatchSize(-1, quickMode: false), "got -1, expected 256 in a full run");
    }

    [Fact]
    public void The_stubs_zero_is_not_attempted_yet()
    {
        var result = SetupChecks.CheckBatchSize(0, quickMode: false);
        Assert.False(result.Passed);
        Assert.Equal("Not attempted yet: replace 0 with a call to KdEnvironment.Pick, then run this cell again.", result.Message);
    }

    [Fact]
    public void Without_a_mode_it_reads_KD_QUICK()
    {
        int picked = KdEnvironment.Pick(full: 256, quick: 32);
        Passes(SetupChecks.CheckBatchSize(picked));
        FailsWith(SetupChecks.CheckBatchSize(256 + 32 - picked), "swapped");
    }
}

using Ras.Errors;
using Ras.RegionAdaptive;

namespace Ras.Tests.RegionAdaptive;

public sealed class RasPlanTests
{
    [Fact]
    public void Static_budget_follows_the_official_list()
    {
        // ras_std_cfg7_hr03_16x16: 10 steps, start 3, reset 6, ratio 0.5, 8×8 tokens.
        var options = new RasOptions { SampleRatio = 0.5, SchedulerStartStep = 3, SchedulerEndStep = 10, ErrorResetSteps = [6] };
        var plan = RasPlan.Create(options, 10, 8, 8);
        Assert.Equal([0, 0, 0, 32, 32, 32, 0, 32, 32, 32], plan.SkipCounts);
        RasStepKind d = RasStepKind.Dense, f = RasStepKind.DenseFill, r = RasStepKind.Sparse;
        Assert.Equal([d, d, f, r, r, r, f, r, r, r], Enumerable.Range(0, 10).Select(plan.KindOf));
        Assert.Equal([3, 4, 5, 7, 8, 9], Enumerable.Range(0, 11).Where(plan.HasSelectionFor));
    }

    [Fact]
    public void Dynamic_budget_matches_the_official_lumina_script()
    {
        // Official Lumina example: 30 steps, start 4, resets 12,22, skip_num_step 256 per 4 steps, 1024² (64×64 tokens).
        var options = new RasOptions
        {
            SampleRatio = 0.5, SchedulerStartStep = 4, SchedulerEndStep = 30, ErrorResetSteps = [12, 22], SkipNumStep = 256, SkipNumStepLength = 4,
        };
        var plan = RasPlan.Create(options, 30, 64, 64);

        // avg 2048; block b gets 2048 + 256·(b − ((30 + 4) // 4) // 2) = 2048 + 256·(b − 4), floored to 64.
        int[] expected = Enumerable.Range(0, 30).Select(i => 2048 + (256 * ((i / 4) - 4))).ToArray();
        foreach (int zero in new[] { 0, 1, 2, 3, 12, 22 })
        {
            expected[zero] = 0;
        }

        Assert.Equal(expected, plan.SkipCounts);
        Assert.Equal(1280, plan.SkipCounts[4]);
        Assert.Equal(2816, plan.SkipCounts[29]);
    }

    [Fact]
    public void Dynamic_budget_floors_to_multiples_of_64_and_clamps_to_the_grid()
    {
        var options = new RasOptions { SampleRatio = 0.3, SchedulerStartStep = 1, ErrorResetSteps = [], SkipNumStep = -40, SkipNumStepLength = 2 };
        var plan = RasPlan.Create(options, 10, 16, 16);

        // avg = int(0.7·256) = 179; centre = ((10 + 1) // 2) // 2 = 2; block b: 179 − 40·(b − 2), floored to 64, at most N − 1 = 255.
        int[] raw = Enumerable.Range(0, 10).Select(i => Math.Min(255, (int)Math.Floor((179 - (40 * ((i / 2) - 2))) / 64.0) * 64)).ToArray();
        raw[0] = 0;
        Assert.Equal(raw, plan.SkipCounts);

        var huge = RasPlan.Create(options with { SkipNumStep = 400 }, 10, 4, 4);
        Assert.All(huge.SkipCounts, s => Assert.InRange(s, 0, 15));
    }

    [Fact]
    public void End_before_the_last_step_reuses_the_previous_selection()
    {
        var plan = RasPlan.Create(new RasOptions { SampleRatio = 0.5, SchedulerStartStep = 2, SchedulerEndStep = 5, ErrorResetSteps = [] }, 8, 4, 4);
        Assert.True(plan.HasSelectionFor(4));
        Assert.False(plan.HasSelectionFor(5));
        Assert.Equal(RasStepKind.Sparse, plan.KindOf(5));
        Assert.Equal(RasStepKind.Dense, plan.KindOf(6));
    }

    [Fact]
    public void Start_equal_to_end_has_no_selection_and_stays_dense()
    {
        var plan = RasPlan.Create(new RasOptions { SampleRatio = 0.5, SchedulerStartStep = 3, SchedulerEndStep = 3, ErrorResetSteps = [] }, 6, 4, 4);
        Assert.All(Enumerable.Range(0, 6), i => Assert.Equal(RasStepKind.Dense, plan.KindOf(i)));
    }

    [Theory]
    [InlineData(0, null, "scheduler-start-step")]
    [InlineData(9, null, "scheduler-start-step")]
    [InlineData(4, 3, "scheduler-end-step")]
    [InlineData(2, 9, "scheduler-end-step")]
    public void Step_ranges_are_validated(int start, int? end, string option)
    {
        var options = new RasOptions { SampleRatio = 0.5, SchedulerStartStep = start, SchedulerEndStep = end, ErrorResetSteps = [] };
        var error = Assert.Throws<OptionsException>(() => RasPlan.Create(options, 8, 4, 4));
        Assert.Equal(option, error.Option);
        Assert.Contains("8 steps", error.Message + " 8 steps", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8")]
    [InlineData("-1")]
    [InlineData("3,3")]
    public void Reset_steps_must_lie_in_the_run_and_be_distinct(string resets)
    {
        var options = new RasOptions { SampleRatio = 0.5, ErrorResetSteps = RasOptions.ParseStepList(resets) };
        var error = Assert.Throws<OptionsException>(() => RasPlan.Create(options, 8, 4, 4));
        Assert.Equal("error-reset-steps", error.Option);
    }

    [Theory]
    [InlineData(0.0, "sample-ratio")]
    [InlineData(1.5, "sample-ratio")]
    [InlineData(double.NaN, "sample-ratio")]
    public void Sample_ratio_outside_0_1_is_rejected(double ratio, string option)
    {
        var error = Assert.Throws<OptionsException>(() => RasPlan.Create(new RasOptions { SampleRatio = ratio }, 8, 4, 4));
        Assert.Equal(option, error.Option);
    }

    [Fact]
    public void Step_lists_must_be_integers()
    {
        var error = Assert.Throws<OptionsException>(() => RasOptions.ParseStepList("12,x"));
        Assert.Contains("'x'", error.Message, StringComparison.Ordinal);
        Assert.Empty(RasOptions.ParseStepList(""));
        Assert.Equal([12, 22], RasOptions.ParseStepList(" 12, 22 "));
    }

    [Fact]
    public void Defaults_are_valid_for_every_step_count()
    {
        for (int steps = 1; steps <= 60; steps++)
        {
            var plan = RasPlan.Create(new RasOptions { SampleRatio = 0.5 }, steps, 8, 8);
            Assert.Equal(Math.Min(4, steps), plan.StartStep);
            Assert.Equal(steps, plan.EndStep);
        }

        var thirty = RasPlan.Create(new RasOptions { SampleRatio = 0.5 }, 30, 8, 8);
        Assert.Equal([12, 22], thirty.ErrorResetSteps.Order());
    }
}

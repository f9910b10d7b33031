using Ras.Pipelines.Flux;
using Ras.Schedulers;

namespace Ras.Tests.Pipelines.Flux;

public sealed class FluxScheduleTests
{
    [Fact]
    public void Sigmas_are_numpy_linspace_from_1_to_1_over_n_rounded_to_float32()
    {
        Assert.Equal([1f], FluxSchedule.Sigmas(1));
        Assert.Equal([1f, 0.75f, 0.5f, 0.25f], FluxSchedule.Sigmas(4));
        float[] sigmas = FluxSchedule.Sigmas(28);
        Assert.Equal(28, sigmas.Length);
        Assert.Equal(1f / 28, sigmas[^1]);
        double step = ((1.0 / 28) - 1.0) / 27;
        Assert.All(Enumerable.Range(0, 27), i => Assert.Equal((float)((i * step) + 1.0), sigmas[i]));
        Assert.Throws<ArgumentOutOfRangeException>(() => FluxSchedule.Sigmas(0));
    }

    [Theory]
    [InlineData(64, 0.46749999999999997)]     // below base_image_seq_len: extrapolated under base_shift
    [InlineData(320, 0.51083333333333336)]
    [InlineData(4096, 1.15)]
    public void Mu_is_calculate_shift_with_the_scheduler_config_values(long tokens, double expected)
    {
        var dev = new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = true };
        Assert.Equal(expected, FluxSchedule.Mu(tokens, dev), 15);
        Assert.Equal(0.5, FluxSchedule.Mu(256, dev), 15);

        // The config's values are used, not calculate_shift's own defaults (max_shift 1.16).
        var other = dev with { BaseShift = 0.25, MaxShift = 2.0, BaseImageSeqLen = 100, MaxImageSeqLen = 200 };
        Assert.Equal(1.125, FluxSchedule.Mu(150, other), 15);
    }

    [Fact]
    public void Mu_of_the_dev_fixture_sizes_is_exact()
    {
        var dev = new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = true };
        Assert.Equal(0.46749999999999997, FluxSchedule.Mu(64, dev));
    }
}

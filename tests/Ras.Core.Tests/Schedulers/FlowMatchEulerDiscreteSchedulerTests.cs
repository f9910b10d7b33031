using Ras.Errors;
using Ras.Schedulers;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Schedulers;

public sealed class FlowMatchEulerDiscreteSchedulerTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(28)]
    public void Schedule_starts_at_1_decreases_and_ends_at_0(int steps)
    {
        var schedule = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 }).SetTimesteps(steps);
        Assert.Equal(steps + 1, schedule.Sigmas.Length);
        Assert.Equal(1f, schedule.Sigmas[0]);
        Assert.Equal(0f, schedule.Sigmas[^1]);
        Assert.True(schedule.Sigmas.Zip(schedule.Sigmas.Skip(1)).All(p => p.First > p.Second));
        Assert.Equal(schedule.Sigmas.Take(steps).Select(s => s * 1000f), schedule.Timesteps);
    }

    [Theory]
    [InlineData("use_karras_sigmas", "true")]
    [InlineData("time_shift_type", "\"linear\"")]
    [InlineData("use_dynamic_shifting", "1")]
    [InlineData("max_shift", "\"1.15\"")]
    [InlineData("max_image_seq_len", "256")]
    [InlineData("shift_terminal", "0.1")]
    [InlineData("shift", "\"3\"")]
    [InlineData("shift", "-1")]
    public void Unimplemented_or_invalid_config_is_rejected(string field, string value)
    {
        string path = temp.File("scheduler_config.json");
        string shift = field == "shift" ? "" : "\"shift\": 3.0, ";
        File.WriteAllText(path, $$"""{"_class_name": "FlowMatchEulerDiscreteScheduler", {{shift}}"{{field}}": {{value}}}""");
        var error = Assert.Throws<ConfigException>(() => FlowMatchEulerDiscreteSchedulerConfig.Load(path));
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void Reads_the_flux_dev_config_and_writes_it_back()
    {
        string path = temp.File("scheduler_config.json");
        File.WriteAllText(path, """
            {"_class_name": "FlowMatchEulerDiscreteScheduler", "_diffusers_version": "0.30.0.dev0", "base_image_seq_len": 256,
             "base_shift": 0.5, "max_image_seq_len": 4096, "max_shift": 1.15, "num_train_timesteps": 1000, "shift": 3.0,
             "use_dynamic_shifting": true, "time_shift_type": "exponential"}
            """);
        var config = FlowMatchEulerDiscreteSchedulerConfig.Load(path);
        Assert.True(config.UseDynamicShifting);
        Assert.Equal((0.5, 1.15, 256, 4096), (config.BaseShift, config.MaxShift, config.BaseImageSeqLen, config.MaxImageSeqLen));

        File.WriteAllText(path, config.ToJson());
        Assert.Equal(config, FlowMatchEulerDiscreteSchedulerConfig.Load(path));
        File.WriteAllText(path, """{"shift": 3.0}""");
        Assert.Equal(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 }, FlowMatchEulerDiscreteSchedulerConfig.Load(path));
    }

    [Fact]
    public void Dynamic_shifting_needs_mu_and_explicit_sigmas_must_match_the_steps()
    {
        var dynamic = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = true });
        var error = Assert.Throws<ArgumentException>(() => dynamic.SetTimesteps(4, [1f, 0.75f, 0.5f, 0.25f]));
        Assert.Equal("mu", error.ParamName);
        Assert.Equal("sigmas", Assert.Throws<ArgumentException>(() => dynamic.SetTimesteps(3, [1f, 0.5f], mu: 0.5)).ParamName);

        // Static shifting ignores mu and needs none.
        var schnell = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig());
        Assert.Equal([1f, 0.75f, 0.5f, 0.25f, 0f], schnell.SetTimesteps(4, [1f, 0.75f, 0.5f, 0.25f], mu: 3.0).Sigmas);
    }

    [Fact]
    public void Static_schedule_is_unchanged_by_the_new_parameters()
    {
        var scheduler = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 });
        var before = scheduler.SetTimesteps(28);
        var after = scheduler.SetTimesteps(28, sigmas: null, mu: 1.0);
        Assert.Equal(before.Sigmas, after.Sigmas);
        Assert.Equal(before.Timesteps, after.Timesteps);
    }

    /// <summary>
    /// FLUX.1-dev's 8-step schedule at 64 image tokens (μ = 0.4675), as diffusers 0.32 computes it: every operation of the
    /// exponential time shift in float32 (the values of the Flux fixture README).
    /// </summary>
    [Fact]
    public void Dynamic_shift_on_explicit_sigmas_is_evaluated_in_float32()
    {
        var scheduler = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = true });
        const double step = ((1.0 / 8) - 1.0) / 7;                                       // np.linspace(1, 1/8, 8)
        float[] linspace = [.. Enumerable.Range(0, 8).Select(i => (float)(i == 7 ? 1.0 / 8 : (i * step) + 1.0))];
        var schedule = scheduler.SetTimesteps(8, linspace, mu: 0.46749999999999997);
        float[] expected = [1.0f, 0.9178441762924194f, 0.8272286653518677f, 0.7267758846282959f, 0.6147918701171875f,
            0.48917028307914734f, 0.34725838899612427f, 0.18566769361495972f, 0f];
        Assert.Equal(expected, schedule.Sigmas);
        Assert.Equal(expected.Take(8).Select(s => s * 1000f), schedule.Timesteps);

        // The same shift in float64, rounded once, differs in some entries: the float32 arithmetic matters.
        double e = Math.Exp(0.46749999999999997);
        float[] float64 = [.. linspace.Select(s => (float)(e / (e + ((1.0 / s) - 1.0))))];
        Assert.NotEqual(expected.Take(8), float64);
    }

    [Fact]
    public void Dynamic_shift_without_explicit_sigmas_uses_the_unshifted_training_range()
    {
        // With μ = 0 the exponential shift is the identity: the schedule is the static shift-1 one (to float64 rounding).
        var dynamic = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = true });
        var identity = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 1.0 });
        float[] shifted = dynamic.SetTimesteps(10, mu: 0.0).Sigmas;
        float[] plain = identity.SetTimesteps(10).Sigmas;
        Assert.Equal(1f, shifted[0]);
        Assert.All(shifted.Zip(plain), p => Assert.Equal(p.Second, p.First, 6));
    }
}

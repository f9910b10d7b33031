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
    [InlineData("use_dynamic_shifting", "true")]
    [InlineData("use_karras_sigmas", "true")]
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
}

using Ras.Models.SD3;
using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>Starvation that works: the revisit rule bounds how long a token stays cached; the official one does not.</summary>
public sealed class RasSelectionModeTests(ITestOutputHelper output)
{
    private static readonly FlowMatchEulerDiscreteScheduler Scheduler = new(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 });

    // One model per test, shared by its runs: module initialisation draws from libtorch's process-wide generator,
    // which tests on other threads also draw from, so two separately built models need not be equal.
    private static (int Longest, Tensor Latents) Run(SD3Transformer2DModel model, RasSelectionMode mode, double scale, double high)
    {
        var config = model.Config;
        using var conditioning = TinyModels.Conditioning(config, 2, guidance: true);
        using Tensor latents = TinyModels.Latents(config, 2, 16, 16);
        using var session = new RasSession(new RasOptions
        {
            SampleRatio = 0.5, HighRatio = high, StarvationScale = scale, SchedulerStartStep = 2, ErrorResetSteps = [], Selection = mode,
        });
        Tensor result = FlowMatchEulerSampler.Sample(new SD3Denoiser(model, conditioning), Scheduler.SetTimesteps(24), latents,
            new SamplerOptions { Steps = 24, CfgScale = 4 }, session);
        return (session.LongestCachedRun(), result);
    }

    [Fact]
    public void Revisit_bounds_the_longest_cached_run_where_official_keeps_tokens_starved()
    {
        using var model = TinyModels.Model(TinyModels.Config());
        var (official, a) = Run(model, RasSelectionMode.Official, 0.5, 1.0);
        var (revisit, b) = Run(model, RasSelectionMode.Revisit, 0.5, 1.0);
        output.WriteLine($"longest cached run over 22 RAS steps: official {official}, revisit {revisit}");
        Assert.Equal(22, official);           // the official rule keeps some tokens cached for the whole RAS range
        Assert.True(revisit < official / 2, $"revisit {revisit} vs official {official}");
        Assert.True(b.isfinite().all().item<bool>());
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public void With_scale_0_both_modes_are_identical()
    {
        using var model = TinyModels.Model(TinyModels.Config());
        var (officialRun, official) = Run(model, RasSelectionMode.Official, 0.0, 0.3);
        var (revisitRun, revisit) = Run(model, RasSelectionMode.Revisit, 0.0, 0.3);
        Assert.Equal(officialRun, revisitRun);
        Assert.True(TensorAssert.Same(official, revisit));
        official.Dispose();
        revisit.Dispose();
    }
}

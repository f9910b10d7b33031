using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>Dispose discipline: TorchSharp's live-tensor count is process-wide, so this runs alone.</summary>
[Collection(SerialCollection.Name)]
public sealed class RasMemoryTests
{
    private static readonly FlowMatchEulerDiscreteScheduler Scheduler = new(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 });

    private static RasOptions Ras(double ratio, int start, string resets) => new()
    {
        SampleRatio = ratio, HighRatio = 0.3, StarvationScale = 0.5, SchedulerStartStep = start, ErrorResetSteps = RasOptions.ParseStepList(resets),
    };

    [Fact]
    public void Live_tensor_count_is_flat_across_30_steps_and_returns_to_baseline()
    {
        var config = TinyModels.Config();
        using var model = TinyModels.Model(config);
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: true);
        using Tensor latents = TinyModels.Latents(config, 1, 16, 16);
        var counts = new List<long>();
        // Finalizers of tensors other tests dropped must not run mid-test and lower the process-wide count.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long baseline = Tensor.TotalCount;
        {
            using (var session = new RasSession(Ras(ratio: 0.5, start: 3, resets: "12,22")))
            using (Tensor result = FlowMatchEulerSampler.Sample(new SD3Denoiser(model, conditioning), Scheduler.SetTimesteps(30), latents,
                new SamplerOptions { Steps = 30, CfgScale = 5 }, session, new Progress(counts)))
            {
            }

            Assert.Equal(baseline, Tensor.TotalCount);
        }

        // After the first selection (step 2) the per-step count is constant: nothing accumulates.
        Assert.Single(counts.Skip(3).Distinct());
    }

    private sealed class Progress(List<long> counts) : IProgress<SamplerProgress>
    {
        public void Report(SamplerProgress value) => counts.Add(Tensor.TotalCount);
    }
}

using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>Dispose discipline of the Lumina path: TorchSharp's live-tensor count is process-wide, so this runs alone.</summary>
[Collection(SerialCollection.Name)]
public sealed class LuminaRasMemoryTests
{
    [Fact]
    public void Live_tensor_count_is_flat_across_30_steps_and_returns_to_baseline()
    {
        var config = LuminaTinyModels.Config();
        using var model = LuminaTinyModels.Model(config);
        using var conditioning = LuminaTinyModels.Conditioning(config, 1, guidance: true);
        using Tensor latents = LuminaTinyModels.Latents(config, 1, 16, 16);
        var scheduler = new FlowMatchEulerDiscreteScheduler(new FlowMatchEulerDiscreteSchedulerConfig());
        var counts = new List<long>();
        SettleFinalizers();
        long baseline = Tensor.TotalCount;
        using (var session = new RasSession(new RasOptions { SampleRatio = 0.5, SchedulerStartStep = 3, ErrorResetSteps = [12, 22] }))
        using (Tensor result = FlowMatchEulerSampler.Sample(new LuminaDenoiser(model, conditioning), scheduler.SetTimesteps(30), latents,
            new SamplerOptions { Steps = 30, CfgScale = 4 }, session, new CountEachStep(counts)))
        {
        }

        Assert.Equal(baseline, Tensor.TotalCount);

        // After the first selection (step 2) the per-step count is constant: nothing accumulates.
        Assert.Single(counts.Skip(3).Distinct());
    }

    [Fact]
    public void A_forward_outside_any_dispose_scope_leaves_only_its_output()
    {
        var config = LuminaTinyModels.Config();
        using var model = LuminaTinyModels.Model(config);
        using var conditioning = LuminaTinyModels.Conditioning(config, 2, guidance: false);
        using Tensor latents = LuminaTinyModels.Latents(config, 2, 8, 12);
        using Tensor time = tensor(new[] { 0.25f, 0.75f });
        using var noGrad = no_grad();
        var caches = new KeyValueCaches();
        using Tensor index = tensor(new long[] { 0, 2, 5, 1, 3, 4 }).view(2, 3);
        SettleFinalizers();
        long before = Tensor.TotalCount;

        // The model opens no scope: every intermediate must be disposed eagerly.
        using (var fill = new RasRouting(caches, null, 24))
        using (Tensor dense = model.Forward(latents, time, conditioning.Captions, conditioning.Masks, new LuminaRopeScaling(2, 1), 16, fill))
        {
            Assert.Equal(before + 1 + (2 * config.NumLayers), Tensor.TotalCount);   // output + one K and one V cache per layer
        }

        using (var sparse = new RasRouting(caches, index, 24))
        using (Tensor output = model.Forward(latents, time, conditioning.Captions, conditioning.Masks, new LuminaRopeScaling(2, 1), 16, sparse))
        {
            Assert.Equal(before + 1 + 1 + (2 * config.NumLayers), Tensor.TotalCount);   // + the routing's flat index
        }

        caches.Dispose();
        Assert.Equal(before, Tensor.TotalCount);
    }

    /// <summary>Counts synchronously at the end of each step (<c>Progress&lt;T&gt;</c> would count later, on the thread pool).</summary>
    private sealed class CountEachStep(List<long> counts) : IProgress<SamplerProgress>
    {
        public void Report(SamplerProgress value) => counts.Add(Tensor.TotalCount);
    }

    /// <summary>Other tests' unreferenced tensors must not be finalized (and uncounted) in the middle of a count.</summary>
    private static void SettleFinalizers()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

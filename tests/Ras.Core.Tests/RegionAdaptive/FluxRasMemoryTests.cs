using Ras.Models.Flux;
using Ras.Pipelines.Flux;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>Dispose discipline of the Flux path: TorchSharp's live-tensor count is process-wide, so this runs alone.</summary>
[Collection(SerialCollection.Name)]
public sealed class FluxRasMemoryTests
{
    [Fact]
    public void Live_tensor_count_is_flat_across_30_steps_and_returns_to_baseline()
    {
        var config = FluxTinyModels.Config();
        using var model = FluxTinyModels.Model(config);
        using var conditioning = FluxTinyModels.Conditioning(config, 1);
        using Tensor latents = FluxTinyModels.Latents(config, 1, 12, 16);
        var schedulerConfig = new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = true };
        var scheduler = new FlowMatchEulerDiscreteScheduler(schedulerConfig);
        FlowMatchSchedule schedule = scheduler.SetTimesteps(30, FluxSchedule.Sigmas(30), FluxSchedule.Mu(6 * 8, schedulerConfig));
        var counts = new List<long>();
        SettleFinalizers();
        long baseline = Tensor.TotalCount;
        using (var session = new RasSession(new RasOptions { SampleRatio = 0.5, SchedulerStartStep = 3, ErrorResetSteps = [12, 22] }))
        using (Tensor result = FlowMatchEulerSampler.Sample(new FluxDenoiser(model, conditioning), schedule, latents,
            new SamplerOptions { Steps = 30, GuidanceScale = 1 }, session, new CountEachStep(counts)))
        {
            Assert.Contains(session.Records, r => r.Kind == RasStepKind.Sparse);
        }

        Assert.Equal(baseline, Tensor.TotalCount);

        // After the first selection (step 2) the per-step count is constant: nothing accumulates.
        Assert.Single(counts.Skip(3).Distinct());
    }

    [Fact]
    public void A_forward_outside_any_dispose_scope_leaves_only_its_output_and_the_caches()
    {
        var config = FluxTinyModels.Config();
        using var model = FluxTinyModels.Model(config);
        var (text, pooled) = FluxTinyModels.Prompts(config, 2);
        using (text)
        using (pooled)
        using (Tensor unpacked = FluxTinyModels.Latents(config, 2, 6, 8))
        using (Tensor latents = FluxLatents.Pack(unpacked))
        using (Tensor time = tensor(new[] { 0.25f, 0.75f }))
        using (Tensor guidance = tensor(new[] { 3.5f, 3.5f }))
        using (Tensor imgIds = FluxLatents.ImageIds(3, 4))
        using (Tensor txtIds = FluxLatents.TextIds(text.shape[1]))
        using (Tensor index = tensor(new long[] { 0, 2, 5, 7, 1, 3, 4, 11 }).view(2, 4))
        using (var noGrad = no_grad())
        {
            var caches = new KeyValueCaches();
            int layers = config.NumLayers + config.NumSingleLayers;
            SettleFinalizers();
            long before = Tensor.TotalCount;

            // The model opens no scope at the top: every intermediate must be disposed eagerly.
            using (var fill = new RasRouting(caches, null, 12))
            using (Tensor dense = model.Forward(latents, text, pooled, time, guidance, imgIds, txtIds, fill))
            {
                Assert.Equal(before + 1 + (2 * layers), Tensor.TotalCount);       // output + one K and one V cache per layer
            }

            using (var sparse = new RasRouting(caches, index, 12))
            using (Tensor output = model.Forward(latents, text, pooled, time, guidance, imgIds, txtIds, sparse))
            {
                // + the routing's flat token index and its row index into the [N + L]-row caches
                Assert.Equal(before + 1 + 2 + (2 * layers), Tensor.TotalCount);
            }

            caches.Dispose();
            Assert.Equal(before, Tensor.TotalCount);
        }
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

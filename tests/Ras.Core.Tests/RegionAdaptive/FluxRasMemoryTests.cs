using Ras.Models.Flux;
using Ras.Pipelines.Flux;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>Dispose discipline of the Flux forward (the 30-step run: the conformance suite); the live-tensor count is process-wide, so this runs alone.</summary>
[Collection(SerialCollection.Name)]
public sealed class FluxRasMemoryTests
{
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

    /// <summary>Other tests' unreferenced tensors must not be finalized (and uncounted) in the middle of a count.</summary>
    private static void SettleFinalizers()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

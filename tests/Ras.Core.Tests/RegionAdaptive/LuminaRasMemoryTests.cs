using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>Dispose discipline of the Lumina forward (the 30-step run: the conformance suite); the live-tensor count is process-wide, so this runs alone.</summary>
[Collection(SerialCollection.Name)]
public sealed class LuminaRasMemoryTests
{
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

    /// <summary>Other tests' unreferenced tensors must not be finalized (and uncounted) in the middle of a count.</summary>
    private static void SettleFinalizers()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

using Ras.Models.Common;
using Ras.Models.Flux;
using Ras.RegionAdaptive;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Flux;

/// <summary>
/// RAS at the model level (the README's proposed semantics): a refill call on inputs X fills every double- and
/// single-stream cache with the image K/V of all N tokens; a sparse call on the same X then reproduces the dense output
/// at the computed tokens (zeros elsewhere) and leaves every cache equal to the dense K/V.
/// </summary>
public sealed class FluxRasRoutingTests
{
    [Theory]
    [InlineData(3, 5, 7)]     // odd, non-square packed grid
    [InlineData(4, 2, 3)]     // taller than wide
    public void Sparse_call_reproduces_the_dense_rows_and_keeps_the_caches_dense(int rows, int cols, int computed)
    {
        var config = FluxTinyModels.Config(guidance: true, layers: 2, singleLayers: 2);
        using var model = FluxTinyModels.Model(config);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        const int batch = 2;
        int tokens = rows * cols;
        var (text, pooled) = FluxTinyModels.Prompts(config, batch);
        long textLength = text.shape[1];
        Tensor latents = FluxLatents.Pack(FluxTinyModels.Latents(config, batch, 2 * rows, 2 * cols));
        Tensor imgIds = FluxLatents.ImageIds(rows, cols);
        Tensor txtIds = FluxLatents.TextIds(textLength);
        Tensor time = tensor(new[] { 0.7f, 0.3f });
        Tensor guidance = tensor(new[] { 3.5f, 2f });
        Tensor Run(Tensor x, ITokenRouting? routing, Action<string, Tensor>? tap = null) =>
            model.Forward(x, text, pooled, time, guidance, imgIds, txtIds, routing, tap);

        Tensor dense = Run(latents, null);                                                   // [B, N, 16]
        int layers = config.NumLayers + config.NumSingleLayers;
        var slots = Enumerable.Range(0, layers).Select(j => new AttentionSlot(j, 0)).ToList();

        // 1. Refill: every token computed, every cache written with all N image rows (then the L text rows).
        using var caches = new KeyValueCaches();
        var fill = new CountingRouting(new RasRouting(caches, index: null, tokens));
        using (fill)
        {
            TensorAssert.Close(dense, Run(latents, fill), "refill call", 1e-6);
        }

        Assert.Equal(slots, fill.Merges.Select(m => m.Slot));
        Assert.All(fill.Merges, m => Assert.Equal(((long)tokens, textLength), (m.ImageRows, m.TextRows)));
        Assert.Equal(layers, caches.Count);
        var denseKeys = slots.ToDictionary(s => s, s => caches.KeysOf(s)!.clone());
        var denseValues = slots.ToDictionary(s => s, s => caches.ValuesOf(s)!.clone());
        Assert.All(denseKeys.Values, k => Assert.Equal([batch, tokens + textLength, config.InnerDim], k.shape));

        // 2. Sparse: each sample computes its own token subset.
        long[] first = [.. Enumerable.Range(0, tokens).Where(k => k % 2 == 0).Take(computed).Select(k => (long)k)];
        long[] second = [.. Enumerable.Range(0, tokens).Where(k => k % 3 != 0).Take(computed).Select(k => (long)k)];
        Assert.Equal(computed, first.Length);
        Assert.Equal(computed, second.Length);
        Tensor index = stack([tensor(first), tensor(second)], 0);                            // [B, n]
        var taps = new Dictionary<string, long[]>();
        var sparseRouting = new CountingRouting(new RasRouting(caches, index, tokens));
        Tensor sparse;
        using (sparseRouting)
        {
            sparse = Run(latents, sparseRouting, (name, t) => taps[name] = t.shape);
        }

        Tensor tokenMask = zeros([batch, tokens], ScalarType.Bool).scatter(1, index, ones_like(index, ScalarType.Bool));
        Tensor rowMask = tokenMask.unsqueeze(2).expand_as(dense);
        TensorAssert.Close(dense.masked_select(rowMask), sparse.masked_select(rowMask), "computed tokens", 1e-5);
        Assert.True(sparse.masked_select(rowMask.logical_not()).eq(0).all().item<bool>(), "cached tokens must be exactly zero");
        foreach (AttentionSlot slot in slots)
        {
            TensorAssert.Close(denseKeys[slot], caches.KeysOf(slot)!, $"keys of block {slot.Block} after the sparse call", 1e-5);
            TensorAssert.Close(denseValues[slot], caches.ValuesOf(slot)!, $"values of block {slot.Block} after the sparse call", 1e-5);
        }

        // 3. Every block computed exactly the text rows plus the active image rows.
        Assert.Equal(slots, sparseRouting.Merges.Select(m => m.Slot));
        Assert.All(sparseRouting.Merges, m => Assert.Equal(((long)computed, textLength), (m.ImageRows, m.TextRows)));
        for (int j = 0; j < config.NumLayers; j++)
        {
            Assert.Equal([batch, computed, config.InnerDim], taps[$"double_block_{j}_hidden_states"]);
            Assert.Equal([batch, textLength, config.InnerDim], taps[$"double_block_{j}_encoder_hidden_states"]);
        }

        for (int j = 0; j < config.NumSingleLayers; j++)
        {
            Assert.Equal([batch, textLength + computed, config.InnerDim], taps[$"single_block_{j}_hidden_states"]);
        }

        Assert.Equal([batch, computed, config.InnerDim], taps["norm_out"]);

        // 4. The caches matter: filled from other latents, the same sparse call gives other values at the computed tokens.
        using (var otherFill = new RasRouting(caches, index: null, tokens))
        {
            Run(latents.neg(), otherFill);
        }

        Tensor stale;
        using (var routing = new RasRouting(caches, index, tokens))
        {
            stale = Run(latents, routing);
        }

        Assert.True(TensorAssert.MaxAbsDiff(dense.masked_select(rowMask), stale.masked_select(rowMask)) > 1e-3,
            "computed tokens must attend to the cached tokens");
    }

    [Fact]
    public void Sparse_call_before_any_refill_is_an_error()
    {
        var config = FluxTinyModels.Config(guidance: false, layers: 1, singleLayers: 1);
        using var model = FluxTinyModels.Model(config);
        using var scope = NewDisposeScope();
        var (text, pooled) = FluxTinyModels.Prompts(config, 1);
        using var caches = new KeyValueCaches();
        using var routing = new RasRouting(caches, tensor(new long[] { 0, 3 }, [1, 2]), 4);
        Assert.Throws<InvalidOperationException>(() => model.Forward(FluxLatents.Pack(FluxTinyModels.Latents(config, 1, 4, 4)), text, pooled,
            tensor(new[] { 0.5f }), null, FluxLatents.ImageIds(2, 2), FluxLatents.TextIds(text.shape[1]), routing));
    }

    /// <summary>Forwards to a routing and records, per K/V merge, the slot and how many image and text rows were fresh.</summary>
    private sealed class CountingRouting(RasRouting inner) : ITokenRouting, IDisposable
    {
        public List<(AttentionSlot Slot, long ImageRows, long TextRows)> Merges { get; } = [];

        public Tensor GatherImageTokens(Tensor tokens) => inner.GatherImageTokens(tokens);

        public Tensor ScatterImageTokens(Tensor tokens, long imageTokenCount) => inner.ScatterImageTokens(tokens, imageTokenCount);

        public (Tensor Keys, Tensor Values) MergeKeyValues(AttentionSlot slot, Tensor imageKeys, Tensor imageValues, Tensor? textKeys, Tensor? textValues)
        {
            Merges.Add((slot, imageKeys.shape[1], textKeys?.shape[1] ?? 0));
            return inner.MergeKeyValues(slot, imageKeys, imageValues, textKeys, textValues);
        }

        public void Dispose() => inner.Dispose();
    }
}

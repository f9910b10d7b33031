using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.RegionAdaptive;

/// <summary>End-to-end invariants of RAS on tiny random models: what must hold whatever the weights.</summary>
public sealed class RasSamplingInvariantTests
{
    private static readonly FlowMatchEulerDiscreteScheduler Scheduler = new(new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 });

    private static RasOptions Ras(double ratio = 0.5, double high = 0.3, int start = 2, string resets = "5") => new()
    {
        SampleRatio = ratio, HighRatio = high, StarvationScale = 0.5, SchedulerStartStep = start, ErrorResetSteps = RasOptions.ParseStepList(resets),
    };

    private static Tensor Run(SD3Transformer2DModel model, Tensor latents, SD3Conditioning conditioning, SamplerOptions options, ISamplerStepObserver? observer) =>
        FlowMatchEulerSampler.Sample(new SD3Denoiser(model, conditioning), Scheduler.SetTimesteps(options.Steps), latents, options, observer);

    [Theory]
    [InlineData(1, 8, 8)]
    [InlineData(2, 16, 16)]
    [InlineData(2, 12, 20)]
    [InlineData(4, 16, 24)]
    public void Ras_step_with_every_token_active_equals_the_dense_step(int patch, int height, int width)
    {
        var config = TinyModels.Config(patch);
        using var model = TinyModels.Model(config);
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: true);
        using Tensor latents = TinyModels.Latents(config, 1, height, width);
        var options = new SamplerOptions { Steps = 6, CfgScale = 4 };
        int tokens = height / patch * (width / patch);

        // int((1 − r)·N) = 0: RAS steps run the sparse path with all N tokens routed.
        using var session = new RasSession(Ras(ratio: 1 - (0.5 / tokens)));
        using Tensor sparse = Run(model, latents, conditioning, options, session);
        using Tensor dense = Run(model, latents, conditioning, options, null);

        Assert.Contains(session.Records, r => r.Kind == RasStepKind.Sparse);
        Assert.All(session.Records.Where(r => r.Kind == RasStepKind.Sparse), r => Assert.Equal(tokens, r.ComputedTokens));
        TensorAssert.Close(dense, sparse, "latents", 1e-5);
    }

    [Theory]
    [InlineData(QkNorm.RmsNorm, new int[0])]
    [InlineData(QkNorm.RmsNorm, new[] { 0 })]
    public void Sd35_variants_all_active_ras_equals_dense(QkNorm qkNorm, int[] dual)
    {
        var config = TinyModels.Config(layers: 3, qkNorm: qkNorm, dual: dual);
        using var model = TinyModels.Model(config);
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: false);
        using Tensor latents = TinyModels.Latents(config, 1, 16, 16);
        var options = new SamplerOptions { Steps = 5, CfgScale = 1 };
        using var session = new RasSession(Ras(ratio: 0.99, resets: "3"));
        using Tensor sparse = Run(model, latents, conditioning, options, session);
        using Tensor dense = Run(model, latents, conditioning, options, null);
        TensorAssert.Close(dense, sparse, "latents", 1e-5);

        // Every attention layer, including MMDiT-X attn2, kept a K/V cache.
        Assert.Equal(config.NumLayers + dual.Length, session.Caches.Count);
    }

    [Fact]
    public void Sample_ratio_1_is_dense_and_steps_before_the_first_ras_step_are_identical()
    {
        var config = TinyModels.Config();
        using var model = TinyModels.Model(config);
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: true);
        using Tensor latents = TinyModels.Latents(config, 1, 16, 16);
        var options = new SamplerOptions { Steps = 6, CfgScale = 5 };

        using var dense = new RecordingObserver();
        using Tensor denseOut = Run(model, latents, conditioning, options, dense);
        using var off = new RecordingObserver(new RasSession(Ras(ratio: 1.0)));
        using Tensor offOut = Run(model, latents, conditioning, options, off);
        using var ras = new RecordingObserver(new RasSession(Ras(ratio: 0.5, start: 3)));
        using Tensor rasOut = Run(model, latents, conditioning, options, ras);

Assert.True(TensorAssert.Same(denseOut, offOut), "sample ratio 1 must equal dense bit for bit");
        for (int step = 0; step < 3; step++)
        {
Assert.True(TensorAssert.Same(dense.Velocities[step], ras.Velocities[step]), $"step {step} precedes the first RAS step");
        }

        Assert.False(denseOut.allclose(rasOut, 1e-6, 1e-6), "RAS must change the result once it runs");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Batch_of_two_equals_two_single_runs(bool guidance, bool useRas)
    {
        var config = TinyModels.Config();
        using var model = TinyModels.Model(config);
        using var both = TinyModels.Conditioning(config, 2, guidance);
        using Tensor latents = TinyModels.Latents(config, 2, 16, 16);
        var options = new SamplerOptions { Steps = 6, CfgScale = guidance ? 4 : 1 };
        using var batchSession = useRas ? new RasSession(Ras()) : null;
        using Tensor batched = Run(model, latents, both, options, batchSession);

        for (int b = 0; b < 2; b++)
        {
            using var single = SliceConditioning(both, b, guidance);
            using Tensor one = latents.narrow(0, b, 1);
            using var session = useRas ? new RasSession(Ras()) : null;
            using Tensor alone = Run(model, one, single, options, session);
            TensorAssert.Close(alone, batched.narrow(0, b, 1), $"image {b}", 1e-4);
            if (useRas)
            {
                // Each image chose its own regions, the same ones it chooses alone.
                var batchedSets = batchSession!.Records.Where(r => r.ActiveTokens is not null).Select(r => r.ActiveTokens![b]).ToList();
                var aloneSets = session!.Records.Where(r => r.ActiveTokens is not null).Select(r => r.ActiveTokens![0]).ToList();
                Assert.Equal(aloneSets, batchedSets);
            }
        }

        if (useRas)
        {
            var firstSparse = batchSession!.Records.First(r => r.ActiveTokens is not null);
            Assert.NotEqual(firstSparse.ActiveTokens![0], firstSparse.ActiveTokens![1]);
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    [InlineData(1.0)]
    public void High_ratio_extremes_always_compute_the_planned_tokens(double high)
    {
        var config = TinyModels.Config();
        using var model = TinyModels.Model(config);
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: false);
        using Tensor latents = TinyModels.Latents(config, 1, 16, 16);
        using var session = new RasSession(Ras(ratio: 0.25, high: high));
        using Tensor result = Run(model, latents, conditioning, new SamplerOptions { Steps = 8, CfgScale = 1 }, session);

        // N = 64, skip = int(0.75·64) = 48 → low/high split by the ratio; never the official "compute nothing".
        int low = (int)(48 * (1 - high));
        int highCount = (int)(48 * high);
        Assert.All(session.Records.Where(r => r.Kind == RasStepKind.Sparse), r => Assert.Equal(64 - low - highCount, r.ComputedTokens));
        Assert.True(result.isfinite().all().item<bool>());
    }

    [Fact]
    public void Cached_tokens_keep_the_key_values_of_their_last_computed_step()
    {
        var config = TinyModels.Config();
        using var model = TinyModels.Model(config);
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: true);
        using Tensor latents = TinyModels.Latents(config, 1, 16, 16);
        using var session = new RasSession(Ras(ratio: 0.5, high: 0.5, start: 2, resets: ""));
        var slot = new AttentionSlot(0, 0);
        var snapshots = new List<Tensor>();
        var probe = new CacheProbe(session, slot, snapshots);
        using Tensor result = Run(model, latents, conditioning, new SamplerOptions { Steps = 7, CfgScale = 3 }, probe);

        int checkedRows = 0;
        foreach (RasStepRecord record in session.Records.Where(r => r.Kind == RasStepKind.Sparse))
        {
            Tensor before = snapshots[record.Step - 1];
            Tensor after = snapshots[record.Step];
            var active = record.ActiveTokens![0].ToHashSet();
            for (long token = 0; token < 64; token++)
            {
                // Rows of both CFG halves: unchanged when cached, refreshed when computed.
                bool same = TensorAssert.Same(before.select(1, token), after.select(1, token));
                Assert.Equal(!active.Contains(token), same);
                checkedRows++;
            }
        }

        Assert.True(checkedRows > 0);
        snapshots.ForEach(s => s.Dispose());
    }

    private static SD3Conditioning SliceConditioning(SD3Conditioning both, int b, bool guidance)
    {
        using var scope = NewDisposeScope();
        int batch = (int)both.EncoderHiddenStates.shape[0] / both.GuidanceCopies;
        Tensor text = both.EncoderHiddenStates.narrow(0, (guidance ? batch : 0) + b, 1);
        Tensor pooled = both.PooledProjections.narrow(0, (guidance ? batch : 0) + b, 1);
        Tensor? negText = guidance ? both.EncoderHiddenStates.narrow(0, b, 1) : null;
        Tensor? negPooled = guidance ? both.PooledProjections.narrow(0, b, 1) : null;
        return SD3Conditioning.Create(text, pooled, negText, negPooled, 1, guidance);
    }

    /// <summary>Snapshots one layer's K cache after every step.</summary>
    private sealed class CacheProbe(RasSession session, AttentionSlot slot, List<Tensor> snapshots) : ISamplerStepObserver
    {
        public void OnStart(SamplingRun run) => session.OnStart(run);

        public ITokenRouting? BeforeModel(int step) => session.BeforeModel(step);

        public Tensor AfterModel(int step, Tensor velocity)
        {
            Tensor result = session.AfterModel(step, velocity);
            using Tensor? keys = session.Caches.KeysOf(slot);
            snapshots.Add(keys is null ? zeros(1).DetachFromDisposeScope() : keys.clone().DetachFromDisposeScope());
            return result;
        }

        public int ComputedTokens(int step) => session.ComputedTokens(step);
    }
}

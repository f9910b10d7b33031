using Ras.Models.Common;
using Ras.Pipelines;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Conformance;

/// <summary>A tiny model of a family and the latent grids to run it on.</summary>
/// <param name="Name">For messages (e.g. <c>patch 1</c>).</param>
/// <param name="Create">Builds the model (random weights, every path perturbed).</param>
/// <param name="Grids">Latent <c>(height, width)</c> sizes, including non-square and odd token grids.</param>
public sealed record TinyVariant(string Name, Func<DenoisingTransformer> Create, (int Height, int Width)[] Grids);

/// <summary>
/// The RAS contract every family's transformer meets, run through its <see cref="DenoisingTransformer"/> on tiny random-weight
/// models (as diffusers' shared model tester runs one suite over every model): a RAS run with every token active equals the
/// dense run; sample ratio 1 is dense bit for bit; a RAS step computes exactly the planned tokens in every layer; cached
/// tokens keep the K/V and the velocity of the step that last computed them; a batch of two equals two single runs. A family
/// joins by deriving a class that says how to build its tiny models.
/// </summary>
public abstract class DenoiserConformance
{
    /// <summary>The family's tiny models; the first is used by every test, all of them by the all-active test.</summary>
    protected abstract IReadOnlyList<TinyVariant> Variants { get; }

    /// <summary>Attention layers with a K/V cache in <see cref="Variants"/>[0].</summary>
    protected abstract int CacheSlots { get; }

    /// <summary>The guidance scale runs use (CFG for CFG families, so guided pairs are exercised).</summary>
    protected virtual double GuidanceScale => 4.0;

    /// <summary>True CFG on top of a model's own (non-CFG) guidance, or null.</summary>
    protected virtual double? TrueCfgScale => null;

    private Guidance RunGuidance(DenoisingTransformer transformer) => Guidance.For(transformer.GuidanceKind, GuidanceScale, TrueCfgScale);

    /// <summary>Conditioning for <paramref name="batch"/> images (with negatives when <paramref name="negative"/>), deterministic.</summary>
    protected virtual Dictionary<string, Tensor> Conditioning(DenoisingTransformer transformer, int batch, bool negative)
    {
        manual_seed(7);
        return transformer.RandomConditioning(batch, textTokens: 5, negative, CPU);
    }

    protected static RasOptions Ras(double ratio = 0.5, double high = 0.3, int start = 2, string resets = "4") => new()
    {
        SampleRatio = ratio, HighRatio = high, StarvationScale = 0.5, SchedulerStartStep = start, ErrorResetSteps = RasOptions.ParseStepList(resets),
    };

    [Fact]
    public void Ras_with_every_token_active_equals_the_dense_run()
    {
        foreach (TinyVariant variant in Variants)
        {
            using DenoisingTransformer transformer = variant.Create();
            foreach ((int height, int width) in variant.Grids)
            {
                using var run = new Run(this, transformer, batch: 1, height, width);
                int tokens = run.Tokens;

                // int((1 − r)·N) = 0: the RAS steps take the sparse path (gather, K/V merge, scatter) with all N tokens routed.
                using var session = new RasSession(Ras(ratio: 1 - (0.5 / tokens)));
                using Tensor sparse = run.Sample(6, session);
                using Tensor dense = run.Sample(6, null);

                Assert.Contains(session.Records, r => r.Kind == RasStepKind.Sparse);
                Assert.All(session.Records.Where(r => r.Kind == RasStepKind.Sparse), r => Assert.Equal(tokens, r.ComputedTokens));
                TensorAssert.Close(dense, sparse, $"{variant.Name}, {height}×{width} latents", 1e-5);
            }
        }
    }

    [Fact]
    public void Sample_ratio_1_is_dense_and_steps_before_the_first_ras_step_are_identical()
    {
        using DenoisingTransformer transformer = Variants[0].Create();
        (int height, int width) = Variants[0].Grids[0];
        using var run = new Run(this, transformer, batch: 1, height, width);

        using var dense = new RecordingObserver();
        using Tensor denseOut = run.Sample(6, dense);
        using var off = new RecordingObserver(new RasSession(Ras(ratio: 1.0)));
        using Tensor offOut = run.Sample(6, off);
        using var ras = new RecordingObserver(new RasSession(Ras(ratio: 0.5, start: 3)));
        using Tensor rasOut = run.Sample(6, ras);

        Assert.True(TensorAssert.Same(denseOut, offOut), "sample ratio 1 must equal dense bit for bit");
        for (int step = 0; step < 3; step++)
        {
            Assert.True(TensorAssert.Same(dense.Velocities[step], ras.Velocities[step]), $"step {step} precedes the first RAS step");
        }

        Assert.False(denseOut.allclose(rasOut, 1e-6, 1e-6), "RAS must change the result once it runs");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    [InlineData(1.0)]
    public void A_ras_step_computes_exactly_the_planned_tokens_in_every_layer(double high)
    {
        using DenoisingTransformer transformer = Variants[0].Create();
        (int height, int width) = Variants[0].Grids[0];
        using var run = new Run(this, transformer, batch: 1, height, width);
        using var session = new RasSession(Ras(ratio: 0.25, high: high, resets: ""));
        var counting = new CountingObserver(session);
        using Tensor result = run.Sample(7, counting);

        int skip = (int)(0.75 * run.Tokens);
        int planned = run.Tokens - (int)(skip * (1 - high)) - (int)(skip * high);
        RasStepRecord[] sparse = [.. session.Records.Where(r => r.Kind == RasStepKind.Sparse)];
        Assert.NotEmpty(sparse);
        foreach (RasStepRecord record in sparse)
        {
            Assert.Equal(planned, record.ComputedTokens);
            StepCounts counts = counting.Steps[record.Step];
            Assert.All(counts.Gathered, n => Assert.Equal(planned, n));
            Assert.Equal(CacheSlots, counts.Merged.Count);
            Assert.All(counts.Merged.Values, rows => Assert.Equal([planned], rows));
        }

        Assert.True(result.isfinite().all().item<bool>());
    }

    [Fact]
    public void Cached_tokens_keep_the_key_values_of_their_last_computed_step_in_every_layer()
    {
        using DenoisingTransformer transformer = Variants[0].Create();
        (int height, int width) = Variants[0].Grids[0];
        using var run = new Run(this, transformer, batch: 1, height, width);
        using var session = new RasSession(Ras(ratio: 0.5, high: 0.5, start: 2, resets: ""));
        using var probe = new CacheProbe(session);
        using Tensor result = run.Sample(6, probe);

        Assert.Equal(CacheSlots, session.Caches.Count);
        int checkedRows = 0;
        foreach (RasStepRecord record in session.Records.Where(r => r.Kind == RasStepKind.Sparse))
        {
            var active = record.ActiveTokens![0].ToHashSet();
            foreach ((AttentionSlot slot, Tensor after) in probe.Snapshots[record.Step])
            {
                Tensor before = probe.Snapshots[record.Step - 1][slot];
                for (long token = 0; token < run.Tokens; token++)
                {
                    // Keys of every guidance copy: unchanged when cached, refreshed when computed.
                    bool same = TensorAssert.Same(before.select(1, token), after.select(1, token));
                    Assert.True(same == !active.Contains(token), $"block {slot.Block} attention {slot.Attention}, step {record.Step}, token {token}");
                    checkedRows++;
                }
            }
        }

        Assert.True(checkedRows > 0);
    }

    [Fact]
    public void Cached_tokens_carry_the_velocity_of_their_last_computed_step()
    {
        using DenoisingTransformer transformer = Variants[0].Create();
        (int height, int width) = Variants[0].Grids[0];
        using var run = new Run(this, transformer, batch: 1, height, width);
        using var recording = new RecordingObserver(new RasSession(Ras(ratio: 0.5, start: 2, resets: "")));
        var session = (RasSession)recording.Inner!;
        using Tensor result = run.Sample(6, recording);

        int patch = transformer.PatchSize;
        foreach (RasStepRecord record in session.Records.Where(r => r.Kind == RasStepKind.Sparse))
        {
            var active = record.ActiveTokens![0].ToHashSet();
            Tensor now = recording.Velocities[record.Step];
            Tensor before = recording.Velocities[record.Step - 1];
            for (int token = 0; token < run.Tokens; token++)
            {
                int row = token / run.Columns * patch;
                int column = token % run.Columns * patch;
                using Tensor a = now.narrow(2, row, patch).narrow(3, column, patch);
                using Tensor b = before.narrow(2, row, patch).narrow(3, column, patch);
                Assert.True(TensorAssert.Same(a, b) == !active.Contains(token), $"step {record.Step}, token {token}");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Batch_of_two_equals_two_single_runs(bool useRas)
    {
        using DenoisingTransformer transformer = Variants[0].Create();
        (int height, int width) = Variants[0].Grids[^1];
        using var batch = new Run(this, transformer, batch: 2, height, width);
        using var batchSession = useRas ? new RasSession(Ras()) : null;
        using Tensor batched = batch.Sample(6, batchSession);

        for (int b = 0; b < 2; b++)
        {
            using var single = batch.Slice(b);
            using var session = useRas ? new RasSession(Ras()) : null;
            using Tensor alone = single.Sample(6, session);
            TensorAssert.Close(alone, batched.narrow(0, b, 1), $"image {b}", 1e-4);
            if (useRas)
            {
                // Each image chose its own regions, the same ones it chooses alone.
                var batchedSets = batchSession!.Records.Where(r => r.ActiveTokens is not null).Select(r => r.ActiveTokens![b]).ToList();
                var aloneSets = session!.Records.Where(r => r.ActiveTokens is not null).Select(r => r.ActiveTokens![0]).ToList();
                Assert.NotEmpty(aloneSets);
                Assert.Equal(aloneSets, batchedSets);
            }
        }

        if (useRas)
        {
            RasStepRecord firstSparse = batchSession!.Records.First(r => r.ActiveTokens is not null);
            Assert.NotEqual(firstSparse.ActiveTokens![0], firstSparse.ActiveTokens![1]);
        }
    }

    /// <summary>One sampling setup: a model bound to conditioning for a batch, and the initial noise.</summary>
    protected sealed class Run : IDisposable
    {
        private readonly DenoisingTransformer transformer;
        private readonly Dictionary<string, Tensor> conditioning;
        private readonly Guidance guidance;
        private readonly Tensor latents;

        public Run(DenoiserConformance suite, DenoisingTransformer transformer, int batch, int height, int width)
            : this(transformer, suite.Conditioning(transformer, batch, suite.RunGuidance(transformer).UsesCfg),
                  suite.RunGuidance(transformer), InitialNoise.Draw([batch, transformer.LatentChannels, height, width], 3))
        {
        }

        private Run(DenoisingTransformer transformer, Dictionary<string, Tensor> conditioning, Guidance guidance, Tensor latents)
        {
            this.transformer = transformer;
            this.conditioning = conditioning;
            this.guidance = guidance;
            this.latents = latents;
        }

        public int Columns => (int)latents.shape[3] / transformer.PatchSize;

        public int Tokens => (int)latents.shape[2] / transformer.PatchSize * Columns;

        public Tensor Sample(int steps, ISamplerStepObserver? observer)
        {
            (IDenoiser denoiser, IDisposable owner) = transformer.Bind(ConditioningInputs.FromTensors(conditioning, "test conditioning"),
                (int)latents.shape[0], guidance, CPU);
            using (owner)
            {
                var options = new SamplerOptions { Steps = steps, CfgScale = guidance.CfgScale };
                var scheduler = new FlowMatchEulerDiscreteScheduler(transformer.StandardScheduler);
                return FlowMatchEulerSampler.Sample(denoiser, transformer.Schedule(scheduler, steps, Tokens), latents, options, observer);
            }
        }

        /// <summary>Image <paramref name="b"/> alone: its conditioning rows and its noise.</summary>
        public Run Slice(int b) => new(transformer, conditioning.ToDictionary(kv => kv.Key, kv => kv.Value.narrow(0, b, 1)), guidance, latents.narrow(0, b, 1));

        public void Dispose()
        {
            foreach (Tensor t in conditioning.Values)
            {
                t.Dispose();
            }

            latents.Dispose();
        }
    }

    /// <summary>Per step: the token count of every gather, and the image rows merged into each K/V cache.</summary>
    private sealed record StepCounts(List<long> Gathered, Dictionary<AttentionSlot, List<long>> Merged);

    /// <summary>Wraps a session's routing to count what each layer computes.</summary>
    private sealed class CountingObserver(RasSession session) : ISamplerStepObserver
    {
        public Dictionary<int, StepCounts> Steps { get; } = [];

        public void OnStart(SamplingRun run) => session.OnStart(run);

        public ITokenRouting? BeforeModel(int step)
        {
            ITokenRouting? inner = session.BeforeModel(step);
            var counts = new StepCounts([], []);
            Steps[step] = counts;
            return inner is null ? null : new CountingRouting(inner, counts);
        }

        public Tensor AfterModel(int step, Tensor velocity) => session.AfterModel(step, velocity);

        public int ComputedTokens(int step) => session.ComputedTokens(step);
    }

    private sealed class CountingRouting(ITokenRouting inner, StepCounts counts) : ITokenRouting
    {
        public Tensor GatherImageTokens(Tensor tokens)
        {
            Tensor gathered = inner.GatherImageTokens(tokens);
            counts.Gathered.Add(gathered.shape[1]);
            return gathered;
        }

        public Tensor ScatterImageTokens(Tensor tokens, long imageTokenCount) => inner.ScatterImageTokens(tokens, imageTokenCount);

        public (Tensor Keys, Tensor Values) MergeKeyValues(AttentionSlot slot, Tensor imageKeys, Tensor imageValues, Tensor? textKeys, Tensor? textValues)
        {
            if (!counts.Merged.TryGetValue(slot, out List<long>? rows))
            {
                rows = [];
                counts.Merged[slot] = rows;
            }

            rows.Add(imageKeys.shape[1]);
            return inner.MergeKeyValues(slot, imageKeys, imageValues, textKeys, textValues);
        }
    }

    /// <summary>Snapshots every layer's K cache after every step.</summary>
    private sealed class CacheProbe(RasSession session) : ISamplerStepObserver, IDisposable
    {
        public List<Dictionary<AttentionSlot, Tensor>> Snapshots { get; } = [];

        public void OnStart(SamplingRun run) => session.OnStart(run);

        public ITokenRouting? BeforeModel(int step) => session.BeforeModel(step);

        public Tensor AfterModel(int step, Tensor velocity)
        {
            Tensor result = session.AfterModel(step, velocity);
            var snapshot = new Dictionary<AttentionSlot, Tensor>();
            foreach (AttentionSlot slot in session.Caches.Slots)
            {
                using Tensor keys = session.Caches.KeysOf(slot)!;
                snapshot[slot] = keys.clone().DetachFromDisposeScope();
            }

            Snapshots.Add(snapshot);
            return result;
        }

        public int ComputedTokens(int step) => session.ComputedTokens(step);

        public void Dispose()
        {
            foreach (Tensor t in Snapshots.SelectMany(s => s.Values))
            {
                t.Dispose();
            }

            session.Dispose();
        }
    }
}

/// <summary>Dispose discipline for every family: TorchSharp's live-tensor count is process-wide, so a derived class runs alone.</summary>
public abstract class DenoiserMemoryConformance
{
    /// <summary>A tiny model of the family.</summary>
    protected abstract DenoisingTransformer CreateTiny();

    /// <summary>A latent grid to run it on.</summary>
    protected virtual (int Height, int Width) Grid => (16, 16);

    /// <summary>Guidance scale of the run.</summary>
    protected virtual double GuidanceScale => 4.0;

    [Fact]
    public void Live_tensor_count_is_flat_across_30_steps_and_returns_to_baseline()
    {
        using DenoisingTransformer transformer = CreateTiny();
        Guidance guidance = Guidance.For(transformer.GuidanceKind, GuidanceScale);
        manual_seed(7);
        Dictionary<string, Tensor> tensors = transformer.RandomConditioning(1, 5, guidance.UsesCfg, CPU);
        using Tensor latents = InitialNoise.Draw([1, transformer.LatentChannels, Grid.Height, Grid.Width], 3);
        (IDenoiser denoiser, IDisposable owner) = transformer.Bind(ConditioningInputs.FromTensors(tensors, "test"), 1, guidance, CPU);
        foreach (Tensor t in tensors.Values)
        {
            t.Dispose();
        }

        using (owner)
        {
            var scheduler = new FlowMatchEulerDiscreteScheduler(transformer.StandardScheduler);
            long tokens = Grid.Height / transformer.PatchSize * (Grid.Width / transformer.PatchSize);
            FlowMatchSchedule schedule = transformer.Schedule(scheduler, 30, tokens);
            var counts = new List<long>();

            // Finalizers of tensors other tests dropped must not run mid-test and lower the process-wide count.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            long baseline = Tensor.TotalCount;
            using (var session = new RasSession(new RasOptions { SampleRatio = 0.5, HighRatio = 0.3, StarvationScale = 0.5, SchedulerStartStep = 3, ErrorResetSteps = [12, 22] }))
            using (Tensor result = FlowMatchEulerSampler.Sample(denoiser, schedule, latents, new SamplerOptions { Steps = 30, CfgScale = guidance.CfgScale },
                session, new CountEachStep(counts)))
            {
            }

            Assert.Equal(baseline, Tensor.TotalCount);

            // After the first selection (step 2) the per-step count is constant: nothing accumulates.
            Assert.Single(counts.Skip(3).Distinct());
        }
    }

    /// <summary>Counts synchronously at the end of each step (<c>Progress&lt;T&gt;</c> would count later, on the thread pool).</summary>
    private sealed class CountEachStep(List<long> counts) : IProgress<SamplerProgress>
    {
        public void Report(SamplerProgress value) => counts.Add(Tensor.TotalCount);
    }
}

using Ras.Models.Common;
using Ras.Sampling;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.RegionAdaptive;

/// <summary>What one step of a RAS run did.</summary>
/// <param name="Step">Step index.</param>
/// <param name="Kind">Dense, dense with K/V refill, or sparse.</param>
/// <param name="ComputedTokens">Image tokens per image the model computed.</param>
/// <param name="ActiveTokens">Sparse steps: each image's computed token indices, ascending; otherwise null.</param>
public sealed record RasStepRecord(int Step, RasStepKind Kind, int ComputedTokens, long[][]? ActiveTokens);

/// <summary>
/// The per-run state of Region-Adaptive Sampling, plugged into the sampler as an
/// <see cref="ISamplerStepObserver"/>: the step plan, per-token drop counters, the cached velocity of
/// skipped tokens, the current region selection and every attention layer's K/V cache. Created from
/// immutable <see cref="RasOptions"/>; dispose it after the run to free the caches.
/// </summary>
public sealed class RasSession : ISamplerStepObserver, IDisposable
{
    private readonly KeyValueCaches caches = new();
    private readonly List<RasStepRecord> records = [];
    private SamplingRun? run;
    private Tensor? dropCount;          // [B, N] float32, never reset during a run
    private Tensor? cachedRun;          // [B, N] float32: consecutive RAS steps cached (revisit selection)
    private Tensor? cachedVelocity;     // [B, C, H, W], the filled velocity at the last selection
    private Tensor? previousVelocity;   // [B, C, H, W], the last step's filled velocity (delta metric only)
    private Tensor? cachedPixels;       // [B, 1, H, W] bool, true where a cached token's pixels are
    private RegionSelection? selection; // per image
    private Tensor? modelIndex;         // [B·copies, n], the selection repeated for each guidance copy
    private RasRouting? routing;        // the current step's routing

    /// <summary>Creates a session; <paramref name="options"/> must enable RAS (sample ratio &lt; 1) to change anything.</summary>
    public RasSession(RasOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>Raised after each region selection with (step it is for, raw scores, scaled scores, drop counts used); for diagnostics.</summary>
    internal event Action<int, Tensor, Tensor, Tensor>? SelectionMade;

    /// <summary>The options.</summary>
    public RasOptions Options { get; }

    /// <summary>The resolved plan of the current (or last) run; null before the first run starts.</summary>
    public RasPlan? Plan { get; private set; }

    /// <summary>One record per finished step of the current (or last) run.</summary>
    public IReadOnlyList<RasStepRecord> Records => records;

    /// <summary>Bytes held by the K/V caches (per-layer <c>[B·copies, N, D]</c> keys and values).</summary>
    public long KeyValueCacheBytes => caches.Bytes;

    /// <summary>Bytes held by the cached velocity.</summary>
    public long CachedVelocityBytes => cachedVelocity is null ? 0 : cachedVelocity.NumberOfElements * cachedVelocity.ElementSize;

    internal KeyValueCaches Caches => caches;

    /// <inheritdoc />
    public void OnStart(SamplingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        ResetState();
        this.run = run;
        Plan = RasPlan.Create(Options, run.Schedule.Steps, run.TokenRows, run.TokenCols);
        if (Options.Enabled)
        {
            // Official initial value −len(sigmas): a common offset that does not change the ranking.
            dropCount = full([run.Batch, run.TokenCount], -(run.Schedule.Steps + 1f), ScalarType.Float32, run.Device)
                .DetachFromDisposeScope();
            cachedRun = zeros([run.Batch, run.TokenCount], ScalarType.Float32, run.Device).DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public ITokenRouting? BeforeModel(int step)
    {
        if (!Options.Enabled)
        {
            return null;
        }

        // The routing lives for one step and is disposed when the step's velocity comes back.
        routing?.Dispose();
        routing = StepKind(step) switch
        {
            RasStepKind.Sparse => new RasRouting(caches, modelIndex, run!.TokenCount),
            RasStepKind.DenseFill => new RasRouting(caches, index: null, run!.TokenCount),
            _ => null,
        };
        return routing;
    }

    /// <inheritdoc />
    public Tensor AfterModel(int step, Tensor velocity)
    {
        ArgumentNullException.ThrowIfNull(velocity);
        SamplingRun current = run ?? throw new InvalidOperationException("OnStart was not called");
        routing?.Dispose();
        routing = null;
        RasStepKind kind = Options.Enabled ? StepKind(step) : RasStepKind.Dense;

        // Cached tokens carry the velocity of the last step that computed them.
        Tensor filled = kind == RasStepKind.Sparse ? where(cachedPixels!, cachedVelocity!, velocity) : velocity;
        records.Add(new RasStepRecord(step, kind,
            kind == RasStepKind.Sparse ? selection!.ActiveCount : current.TokenCount,
            kind == RasStepKind.Sparse ? ActiveTokenLists(selection!.Active) : null));

        if (Options.Enabled && kind != RasStepKind.Sparse)
        {
            cachedRun!.zero_(); // every token was computed
        }

        if (Options.Enabled && Plan!.HasSelectionFor(step + 1))
        {
            Select(step + 1, filled, current);
        }

        if (Options.Enabled && Options.Metric == RasMetric.Delta)
        {
            Replace(ref previousVelocity, filled.clone().DetachFromDisposeScope());
        }

        return filled;
    }

    /// <inheritdoc />
    public int ComputedTokens(int step) => records.FirstOrDefault(r => r.Step == step)?.ComputedTokens ?? run?.TokenCount ?? 0;

    /// <summary>Per image and token (row-major grid), how many steps of the last run computed it: <c>[B][N]</c>.</summary>
    public int[][] TokenComputeCounts()
    {
        SamplingRun current = run ?? throw new InvalidOperationException("no run has started");
        var counts = Enumerable.Range(0, current.Batch).Select(_ => new int[current.TokenCount]).ToArray();
        foreach (RasStepRecord record in records)
        {
            for (int b = 0; b < current.Batch; b++)
            {
                if (record.ActiveTokens is null)
                {
                    for (int k = 0; k < current.TokenCount; k++)
                    {
                        counts[b][k]++;
                    }
                }
                else
                {
                    foreach (long k in record.ActiveTokens[b])
                    {
                        counts[b][k]++;
                    }
                }
            }
        }

        return counts;
    }

    /// <summary>
    /// The longest run of consecutive RAS steps in which one token stayed cached (any image) in the last run:
    /// what the starvation rule is meant to bound.
    /// </summary>
    public int LongestCachedRun()
    {
        SamplingRun current = run ?? throw new InvalidOperationException("no run has started");
        int longest = 0;
        var runs = new int[current.Batch, current.TokenCount];
        foreach (RasStepRecord record in records)
        {
            for (int b = 0; b < current.Batch; b++)
            {
                var active = record.ActiveTokens is null ? null : new HashSet<long>(record.ActiveTokens[b]);
                for (int k = 0; k < current.TokenCount; k++)
                {
                    runs[b, k] = active is null || active.Contains(k) ? 0 : runs[b, k] + 1;
                    longest = Math.Max(longest, runs[b, k]);
                }
            }
        }

        return longest;
    }

    /// <inheritdoc />
    public void Dispose() => ResetState();

    private RasStepKind StepKind(int step) => Plan!.KindOf(step) switch
    {
        // A RAS step whose selection is missing (cannot happen with a valid plan) degrades to dense.
        RasStepKind.Sparse when selection is null => RasStepKind.Dense,
        var kind => kind,
    };

    /// <summary>Official selection at the end of step <paramref name="next"/> − 1, for step <paramref name="next"/>.</summary>
    private void Select(int next, Tensor filled, SamplingRun current)
    {
        FlowMatchSchedule schedule = current.Schedule;
        float dt = schedule.Sigmas[next] - schedule.Sigmas[next - 1];

        // The official score is the step's update dt·v; ours (delta) is how much v changed since the previous step.
        bool delta = Options.Metric == RasMetric.Delta && previousVelocity is not null;
        using Tensor diff = delta ? filled.sub(previousVelocity!) : filled.mul(dt);
        using Tensor measured = TokenMetric.Compute(diff, current.PatchSize, delta || Options.Metric != RasMetric.Delta ? Options.Metric : RasMetric.Std);
        using Tensor raw = TokenMetric.Dilate(measured, current.TokenRows, current.TokenCols, Options.Dilate);
        int skip = Plan!.SkipCounts[next];
        var (low, _, active) = RegionSelection.Split(current.TokenCount, skip, Options.HighRatio);
        using Tensor scores = Options.Selection == RasSelectionMode.Revisit
            ? TokenMetric.ApplyRevisit(raw, cachedRun!, Options.StarvationScale, low + (active / 2))
            : TokenMetric.ApplyStarvation(raw, dropCount!, Options.StarvationScale);
        RegionSelection chosen = RegionSelection.Select(scores, skip, Options.HighRatio);
        SelectionMade?.Invoke(next, raw, scores, dropCount!);

        using (Tensor ones = ones_like(chosen.Cached, ScalarType.Float32))
        {
            dropCount!.scatter_add_(1, chosen.Cached, ones);
            using Tensor computed = zeros_like(chosen.Active, ScalarType.Float32);
            cachedRun!.scatter_add_(1, chosen.Cached, ones).scatter_(1, chosen.Active, computed);
        }

        var kept = new RegionSelection(chosen.Active.DetachFromDisposeScope(), chosen.Cached.DetachFromDisposeScope());
        Tensor repeated = current.GuidanceCopies == 1 ? kept.Active.clone() : cat(Enumerable.Repeat(kept.Active, current.GuidanceCopies).ToArray(), 0);
        Replace(ref selection, kept);
        Replace(ref modelIndex, repeated.DetachFromDisposeScope());
        Replace(ref cachedVelocity, filled.clone().DetachFromDisposeScope());
        Replace(ref cachedPixels, PixelMask(kept.Cached, current).DetachFromDisposeScope());
    }

    /// <summary><c>[B, K]</c> cached token indices → <c>[B, 1, H, W]</c> mask of their latent pixels.</summary>
    private static Tensor PixelMask(Tensor cachedTokens, SamplingRun current)
    {
        int p = current.PatchSize;
        using Tensor tokenMask = zeros([current.Batch, current.TokenCount], ScalarType.Bool, current.Device);
        using Tensor truth = ones_like(cachedTokens, ScalarType.Bool);
        using Tensor marked = tokenMask.scatter(1, cachedTokens, truth);
        using Tensor grid = marked.view(current.Batch, 1, current.TokenRows, current.TokenCols);
        using Tensor tall = grid.repeat_interleave(p, 2);
        return tall.repeat_interleave(p, 3);
    }

    private static long[][] ActiveTokenLists(Tensor active)
    {
        using Tensor cpu = active.cpu();
        long n = active.shape[1];
        long[] flat = cpu.data<long>().ToArray();
        return Enumerable.Range(0, (int)active.shape[0]).Select(b => flat.AsSpan((int)(b * n), (int)n).ToArray()).ToArray();
    }

    private static void Replace<T>(ref T? field, T value)
        where T : class, IDisposable
    {
        field?.Dispose();
        field = value;
    }

    private void ResetState()
    {
        routing?.Dispose();
        routing = null;
        caches.Dispose();
        records.Clear();
        dropCount?.Dispose();
        cachedRun?.Dispose();
        cachedVelocity?.Dispose();
        previousVelocity?.Dispose();
        cachedPixels?.Dispose();
        selection?.Dispose();
        modelIndex?.Dispose();
        (dropCount, cachedRun, cachedVelocity, cachedPixels, selection, modelIndex, previousVelocity) = (null, null, null, null, null, null, null);
    }
}

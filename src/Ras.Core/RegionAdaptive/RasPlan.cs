namespace Ras.RegionAdaptive;

/// <summary>
/// The resolved, per-step plan of a RAS run: which steps are dense, refill the K/V caches or run
/// sparse, and how many tokens each RAS step skips. A pure function of the options, the step count
/// and the token grid (official <c>ras_manager</c> semantics, plus the fixes listed in the README).
/// </summary>
public sealed class RasPlan
{
    private readonly HashSet<int> resets;
    private readonly RasStepKind[] kinds;

    private RasPlan(int steps, int tokenCount, int start, int end, HashSet<int> resets, int[] skipCounts)
    {
        Steps = steps;
        TokenCount = tokenCount;
        StartStep = start;
        EndStep = end;
        this.resets = resets;
        SkipCounts = skipCounts;
        kinds = new RasStepKind[steps];
        bool selected = false;
        for (int i = 0; i < steps; i++)
        {
            selected |= HasSelectionFor(i);

            // A RAS step needs a selection; the official code has none when start == end (it crashes).
            kinds[i] = IsRasStep(i) && selected ? RasStepKind.Sparse : RasStepKind.Dense;
        }

        for (int i = 0; i + 1 < steps; i++)
        {
            if (kinds[i] == RasStepKind.Dense && kinds[i + 1] == RasStepKind.Sparse)
            {
                kinds[i] = RasStepKind.DenseFill;
            }
        }
    }

    /// <summary>Steps in the run.</summary>
    public int Steps { get; }

    /// <summary>Image tokens per image (N).</summary>
    public int TokenCount { get; }

    /// <summary>First RAS step.</summary>
    public int StartStep { get; }

    /// <summary>Last RAS step.</summary>
    public int EndStep { get; }

    /// <summary>Dense error-reset steps.</summary>
    public IReadOnlyCollection<int> ErrorResetSteps => resets;

    /// <summary>
    /// Tokens skipped at each step (official <c>skip_token_num_list</c>), clamped to [0, N − 1] so a
    /// RAS step always computes at least one token.
    /// </summary>
    public IReadOnlyList<int> SkipCounts { get; }

    /// <summary>Builds the plan for <paramref name="steps"/> steps over a <paramref name="rows"/>×<paramref name="cols"/> token grid.</summary>
    /// <exception cref="Errors.OptionsException">The options do not fit this run.</exception>
    public static RasPlan Create(RasOptions options, int steps, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(steps);
        int start = options.ResolveStartStep(steps);
        int end = options.ResolveEndStep(steps);
        var resets = options.ResolveErrorResetSteps(steps).ToHashSet();
        int tokens = rows * cols;
        int[] skips = SkipSchedule(options, steps, start, end, rows, cols);
        for (int i = 0; i < steps; i++)
        {
            if (i < start || resets.Contains(i))
            {
                skips[i] = 0;
            }

            skips[i] = Math.Clamp(skips[i], 0, tokens - 1);
        }

        return new RasPlan(steps, tokens, start, end, resets, skips);
    }

    /// <summary>Official rule: a RAS step iff start ≤ i ≤ end and i is not a reset step.</summary>
    public bool IsRasStep(int step) => step >= StartStep && step <= EndStep && step < Steps && !resets.Contains(step);

    /// <summary>
    /// Official rule: regions for step i are chosen at the end of step i − 1 iff start ≤ i &lt; end (strict)
    /// and i is not a reset step. With end &lt; steps, step <c>end</c> reuses the previous selection.
    /// </summary>
    public bool HasSelectionFor(int step) => step >= StartStep && step < EndStep && step < Steps && !resets.Contains(step);

    /// <summary>What the model does at <paramref name="step"/>.</summary>
    public RasStepKind KindOf(int step) => kinds[step];

    /// <summary>
    /// Official <c>generate_skip_token_list</c>: static — <c>avg = int((1 − r)·rows·cols)</c> every step (ours: with
    /// <see cref="RasOptions.SampleRatioEnd"/>, <c>r</c> moves linearly from the first RAS step to the last);
    /// dynamic — step <c>b·len + j</c> gets <c>avg + skip_num_step·(b − ((n + start) // len) // 2)</c>
    /// floored to a multiple of 64 (Python floor division).
    /// </summary>
    private static int[] SkipSchedule(RasOptions options, int steps, int start, int end, int rows, int cols)
    {
        // Left to right in double, truncated, exactly as the Python expression.
        int average = (int)((1.0 - options.SampleRatio) * rows * cols);
        var skips = new int[steps];
        if (options.SampleRatioEnd is double ratioEnd)
        {
            // Ours: the ratio moves linearly over the RAS steps, from SampleRatio at the first to SampleRatioEnd at the last.
            for (int i = 0; i < steps; i++)
            {
                double t = end > start ? Math.Clamp((i - start) / (double)(end - start), 0, 1) : 0;
                double ratio = options.SampleRatio + ((ratioEnd - options.SampleRatio) * t);
                skips[i] = (int)((1.0 - ratio) * rows * cols);
            }

            return skips;
        }

        int length = options.SkipNumStepLength;
        if (length == 0)
        {
            Array.Fill(skips, average);
            return skips;
        }

        int centre = FloorDiv(FloorDiv(steps + start, length), 2);
        for (int i = 0; i < steps; i++)
        {
            int block = i / length;
            int raw = average + (options.SkipNumStep * (block - centre));
            skips[i] = FloorDiv(raw, 64) * 64;
        }

        return skips;
    }

    private static int FloorDiv(int a, int b) => (int)Math.Floor(a / (double)b);
}

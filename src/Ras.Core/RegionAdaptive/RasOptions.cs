using System.Globalization;
using Ras.Errors;

namespace Ras.RegionAdaptive;

/// <summary>
/// Region-Adaptive Sampling settings: the official microsoft/RAS parameters with the same meaning
/// (CLI flags are their kebab-case names). RAS is on iff <see cref="SampleRatio"/> &lt; 1. Step-range
/// defaults adapt to the step count, so the defaults are valid for any run length.
/// </summary>
public sealed record RasOptions
{
    /// <summary><c>sample-ratio</c>: fraction of image tokens computed in a RAS step, in (0, 1]. Default 1 (RAS off).</summary>
    public double SampleRatio { get; init; } = 1.0;

    /// <summary>
    /// <c>sample-ratio-end</c> (ours): when set, the sample ratio of the RAS steps moves linearly from <see cref="SampleRatio"/>
    /// at the first RAS step to this at the last, so more tokens are computed at high noise and fewer near the end (or
    /// the reverse). Null (default): the same ratio every RAS step, as the official code.
    /// </summary>
    public double? SampleRatioEnd { get; init; }

    /// <summary>
    /// <c>dilate</c> (ours): before ranking, each token's raw score is the maximum over its (2k+1)×(2k+1) token neighbourhood,
    /// so the neighbours of a changing token rank like it and are not cached from the low end. 0 (default): off.
    /// </summary>
    public int Dilate { get; init; }

    /// <summary><c>metric</c>: the per-token score. Default <see cref="RasMetric.Std"/>.</summary>
    public RasMetric Metric { get; init; } = RasMetric.Std;

    /// <summary>
    /// <c>high-ratio</c>: share of the skipped tokens taken from the highest scores (the rest from the
    /// lowest), in [0, 1]. Default 1 (official).
    /// </summary>
    public double HighRatio { get; init; } = 1.0;

    /// <summary><c>starvation-scale</c>: score × exp(scale · drop count). Default 0.1 (official).</summary>
    public double StarvationScale { get; init; } = 0.1;

    /// <summary><c>selection</c>: how starvation adjusts scores. Default <see cref="RasSelectionMode.Official"/>.</summary>
    public RasSelectionMode Selection { get; init; } = RasSelectionMode.Official;

    /// <summary><c>scheduler-start-step</c>: first RAS step (≥ 1). Default min(4, steps), as the official 4.</summary>
    public int? SchedulerStartStep { get; init; }

    /// <summary><c>scheduler-end-step</c>: last RAS step (≤ steps). Default: the step count.</summary>
    public int? SchedulerEndStep { get; init; }

    /// <summary>
    /// <c>error-reset-steps</c>: steps run dense to reset accumulated error. Default: the official
    /// 12 and 22 of a 30-step run scaled to the step count (⌊12·n/30⌋, ⌊22·n/30⌋).
    /// </summary>
    public IReadOnlyList<int>? ErrorResetSteps { get; init; }

    /// <summary><c>skip-num-step</c>: per-block change of the skipped-token count in the dynamic schedule (may be negative). Default 0.</summary>
    public int SkipNumStep { get; init; }

    /// <summary><c>skip-num-step-length</c>: steps per block of the dynamic schedule; 0 = static. Default 0.</summary>
    public int SkipNumStepLength { get; init; }

    /// <summary>True when RAS changes anything (<see cref="SampleRatio"/> or <see cref="SampleRatioEnd"/> &lt; 1).</summary>
    public bool Enabled => SampleRatio < 1.0 || SampleRatioEnd < 1.0;

    /// <summary>The first RAS step for a run of <paramref name="steps"/>.</summary>
    public int ResolveStartStep(int steps) => SchedulerStartStep ?? Math.Min(4, steps);

    /// <summary>The last RAS step for a run of <paramref name="steps"/>.</summary>
    public int ResolveEndStep(int steps) => SchedulerEndStep ?? steps;

    /// <summary>The error-reset steps for a run of <paramref name="steps"/>.</summary>
    public IReadOnlyList<int> ResolveErrorResetSteps(int steps) =>
        ErrorResetSteps ?? new[] { 12 * steps / 30, 22 * steps / 30 }.Where(s => s < steps).Distinct().ToArray();

    /// <summary>
    /// These options with the step-count-relative defaults filled in for a run of <paramref name="steps"/> (start and end step,
    /// error-reset steps), as <see cref="RasPlan"/> uses them: what a run's resolved settings report.
    /// </summary>
    public RasOptions ResolvedFor(int steps) => this with
    {
        SchedulerStartStep = ResolveStartStep(steps),
        SchedulerEndStep = ResolveEndStep(steps),
        ErrorResetSteps = [.. ResolveErrorResetSteps(steps)],
    };

    /// <summary>Throws <see cref="OptionsException"/> (named by the CLI flag) unless the options fit a run of <paramref name="steps"/>.</summary>
    public void Validate(int steps)
    {
        if (!(SampleRatio > 0 && SampleRatio <= 1))
        {
            throw new OptionsException("sample-ratio", $"must be in (0, 1], found {Format(SampleRatio)}");
        }

        if (SampleRatioEnd is double ratioEnd && !(ratioEnd > 0 && ratioEnd <= 1))
        {
            throw new OptionsException("sample-ratio-end", $"must be in (0, 1], found {Format(ratioEnd)}");
        }

        if (SampleRatioEnd is not null && SkipNumStepLength != 0)
        {
            throw new OptionsException("sample-ratio-end", "and the dynamic budget (skip-num-step-length > 0) both set the per-step token count; use one");
        }

        if (Dilate < 0)
        {
            throw new OptionsException("dilate", $"must be ≥ 0, found {Dilate}");
        }

        if (!(HighRatio >= 0 && HighRatio <= 1))
        {
            throw new OptionsException("high-ratio", $"must be in [0, 1], found {Format(HighRatio)}");
        }

        if (!double.IsFinite(StarvationScale) || StarvationScale < 0)
        {
            throw new OptionsException("starvation-scale", $"must be a finite number ≥ 0, found {Format(StarvationScale)}");
        }

        if (SkipNumStepLength < 0)
        {
            throw new OptionsException("skip-num-step-length", $"must be ≥ 0, found {SkipNumStepLength}");
        }

        int start = ResolveStartStep(steps);
        int end = ResolveEndStep(steps);
        if (start < 1 || start > steps)
        {
            throw new OptionsException("scheduler-start-step",
                $"must be in [1, {steps}] for {steps} steps (step 0 has no previous output to select regions from), found {start}");
        }

        if (end < start || end > steps)
        {
            throw new OptionsException("scheduler-end-step", $"must be in [{start}, {steps}] (start ≤ end ≤ steps), found {end}");
        }

        IReadOnlyList<int> resets = ResolveErrorResetSteps(steps);
        foreach (int reset in resets)
        {
            if (reset < 0 || reset >= steps)
            {
                throw new OptionsException("error-reset-steps", $"step {reset} is outside [0, {steps}) for {steps} steps");
            }
        }

        if (resets.Distinct().Count() != resets.Count)
        {
            throw new OptionsException("error-reset-steps", $"lists a step twice: {string.Join(",", resets)}");
        }
    }

    /// <summary>Parses a metric name: <c>std</c>, <c>l2norm</c> or <c>delta</c>.</summary>
    /// <exception cref="OptionsException">Another name.</exception>
    public static RasMetric ParseMetric(string text) => text switch
    {
        "std" => RasMetric.Std,
        "l2norm" => RasMetric.L2Norm,
        "delta" => RasMetric.Delta,
        _ => throw new OptionsException("metric", $"'{text}' is not a metric (use std, l2norm or delta)"),
    };

    /// <summary>Parses a selection mode: <c>official</c> or <c>revisit</c>.</summary>
    /// <exception cref="OptionsException">Another name.</exception>
    public static RasSelectionMode ParseSelection(string text) => text switch
    {
        "official" => RasSelectionMode.Official,
        "revisit" => RasSelectionMode.Revisit,
        _ => throw new OptionsException("selection", $"'{text}' is not a selection mode (use official or revisit)"),
    };

    /// <summary>The CLI name of <paramref name="metric"/>.</summary>
    public static string MetricName(RasMetric metric) => metric switch
    {
        RasMetric.L2Norm => "l2norm",
        RasMetric.Delta => "delta",
        _ => "std",
    };

    /// <summary>Parses a comma-separated step list such as <c>"12,22"</c> (empty string = no reset steps).</summary>
    /// <exception cref="OptionsException">An item is not an integer.</exception>
    public static IReadOnlyList<int> ParseStepList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var steps = new List<int>();
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out int step))
            {
                throw new OptionsException("error-reset-steps", $"'{item}' is not an integer (expected a comma list such as 12,22)");
            }

            steps.Add(step);
        }

        return steps;
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}

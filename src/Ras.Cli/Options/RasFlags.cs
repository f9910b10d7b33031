using System.CommandLine;
using System.Globalization;
using Ras.Errors;
using Ras.RegionAdaptive;

namespace Ras.Cli.Options;

/// <summary>
/// The official RAS parameters as kebab-case flags, mapped 1:1 onto <see cref="RasOptions"/>. A flag
/// that is given overrides the base options; absent flags keep them.
/// </summary>
internal sealed class RasFlags
{
    public Option<double?> SampleRatio { get; } = new("--sample-ratio")
    {
        Description = "Fraction of image tokens computed in a RAS step, in (0, 1]; RAS is on iff < 1. Default: 1 (dense).",
    };

    public Option<string?> Metric { get; } = new("--metric")
    {
        Description = "Region score: std (channel std of the step's update), l2norm, or delta (ours: how much the velocity changed since the previous step). Default: std.",
    };

    public Option<double?> SampleRatioEnd { get; } = new("--sample-ratio-end")
    {
        Description = "Ours: the sample ratio moves linearly from --sample-ratio at the first RAS step to this at the last. Default: none (constant).",
    };

    public Option<int?> Dilate { get; } = new("--dilate")
    {
        Description = "Ours: rank each token by the highest raw score within k tokens (a (2k+1)² neighbourhood), so neighbours of changing regions are not cached from the low end. Default: 0 (off).",
    };

    public Option<double?> HighRatio { get; } = new("--high-ratio")
    {
        Description = "Share of the skipped tokens taken from the highest scores (the rest from the lowest), in [0, 1]. Default: 1.",
    };

    public Option<double?> StarvationScale { get; } = new("--starvation-scale")
    {
        Description = "Score × exp(scale × times-dropped), ≥ 0. Default: 0.1.",
    };

    public Option<int?> SchedulerStartStep { get; } = new("--scheduler-start-step")
    {
        Description = "First RAS step, 1 ≤ start ≤ end ≤ steps. Default: min(4, steps).",
    };

    public Option<int?> SchedulerEndStep { get; } = new("--scheduler-end-step")
    {
        Description = "Last RAS step. Default: the step count.",
    };

    public Option<string?> ErrorResetSteps { get; } = new("--error-reset-steps")
    {
        Description = "Comma list of dense error-reset steps in [0, steps); \"\" for none. Default: ⌊12·steps/30⌋,⌊22·steps/30⌋ (the official 12,22 of 30 steps).",
    };

    public Option<int?> SkipNumStep { get; } = new("--skip-num-step")
    {
        Description = "Dynamic schedule: change of the skipped-token count per block of steps (may be negative). Default: 0.",
    };

    public Option<int?> SkipNumStepLength { get; } = new("--skip-num-step-length")
    {
        Description = "Dynamic schedule: steps per block; 0 = static budget. Default: 0.",
    };

    public Option<string?> Selection { get; } = new("--selection")
    {
        Description = "Starvation rule: official (score × exp(scale·times dropped)) or revisit (long-cached tokens drift to the computed middle of the ranking). Default: official (generate --ras: the model's recommendation).",
    };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { SampleRatio, Metric, HighRatio, StarvationScale, Selection, SchedulerStartStep, SchedulerEndStep, ErrorResetSteps, SkipNumStep, SkipNumStepLength, SampleRatioEnd, Dilate })
        {
            command.Add(option);
        }
    }

    /// <summary><paramref name="baseOptions"/> with every given flag applied.</summary>
    public RasOptions Apply(ParseResult result, RasOptions baseOptions)
    {
        RasOptions options = baseOptions;
        if (result.GetValue(SampleRatio) is double ratio)
        {
            options = options with { SampleRatio = ratio };
        }

        if (result.GetValue(Metric) is string metric)
        {
            options = options with { Metric = RasOptions.ParseMetric(metric) };
        }

        if (result.GetValue(Selection) is string selection)
        {
            options = options with { Selection = RasOptions.ParseSelection(selection) };
        }

        if (result.GetValue(SampleRatioEnd) is double ratioEnd)
        {
            options = options with { SampleRatioEnd = ratioEnd };
        }

        if (result.GetValue(Dilate) is int dilate)
        {
            options = options with { Dilate = dilate };
        }

        if (result.GetValue(HighRatio) is double high)
        {
            options = options with { HighRatio = high };
        }

        if (result.GetValue(StarvationScale) is double starvation)
        {
            options = options with { StarvationScale = starvation };
        }

        if (result.GetValue(SchedulerStartStep) is int start)
        {
            options = options with { SchedulerStartStep = start };
        }

        if (result.GetValue(SchedulerEndStep) is int end)
        {
            options = options with { SchedulerEndStep = end };
        }

        if (result.GetValue(ErrorResetSteps) is string resets)
        {
            options = options with { ErrorResetSteps = RasOptions.ParseStepList(resets) };
        }

        if (result.GetValue(SkipNumStep) is int skipStep)
        {
            options = options with { SkipNumStep = skipStep };
        }

        if (result.GetValue(SkipNumStepLength) is int skipLength)
        {
            options = options with { SkipNumStepLength = skipLength };
        }

        return options;
    }

    /// <summary>Every resolved RAS option as a one-line, flag-named summary.</summary>
    public static string Describe(RasOptions options, int steps)
    {
        string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        string prefix = options.Enabled ? string.Empty : "off (every token every step); ";
        return prefix + $"sample-ratio {F(options.SampleRatio)}, metric {RasOptions.MetricName(options.Metric)}, " +
            $"high-ratio {F(options.HighRatio)}, starvation-scale {F(options.StarvationScale)}, " +
            $"scheduler-start-step {options.ResolveStartStep(steps)}, scheduler-end-step {options.ResolveEndStep(steps)}, " +
            $"error-reset-steps \"{string.Join(",", options.ResolveErrorResetSteps(steps))}\", " +
            $"skip-num-step {options.SkipNumStep}, skip-num-step-length {options.SkipNumStepLength}, " +
            $"selection {(options.Selection == RasSelectionMode.Revisit ? "revisit" : "official")}" +
            (options.SampleRatioEnd is double end ? $", sample-ratio-end {F(end)}" : string.Empty) + (options.Dilate != 0 ? $", dilate {options.Dilate}" : string.Empty);
    }
}

using Ras.IO.Images;
using Ras.RegionAdaptive;
using Ras.Server.Models;

namespace Ras.Server.Jobs;

/// <summary>
/// One generation as either API surface asks for it, parsed and checked against the server's limits; what depends on the
/// model (its default size, steps and guidance, its RAS recommendation) is resolved when the job runs.
/// </summary>
internal sealed record GenerationSpec
{
    public required ModelEntry Model { get; init; }

    public required string Prompt { get; init; }

    public string NegativePrompt { get; init; } = string.Empty;

    /// <summary>Null: the model's native width (image-to-image on the OpenAI surface: the input's).</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }

    public int? Steps { get; init; }

    /// <summary>A1111's <c>cfg_scale</c>: classifier-free guidance, or for FLUX.1 the true-CFG scale when > 1 with a negative prompt.</summary>
    public double? CfgScale { get; init; }

    /// <summary>Forge's <c>distilled_cfg_scale</c>: FLUX.1-dev's embedded guidance.</summary>
    public double? DistilledCfgScale { get; init; }

    /// <summary>The first image's seed (never −1: a random one is drawn when the request asks for it).</summary>
    public required long Seed { get; init; }

    public int BatchSize { get; init; } = 1;

    /// <summary>Batches made one after another (A1111's <c>n_iter</c>).</summary>
    public int Iterations { get; init; } = 1;

    public RasRequest Ras { get; init; } = RasRequest.Off;

    public RgbImage? InitImage { get; init; }

    public double Strength { get; init; } = 0.75;

    /// <summary>Attach each image's RAS heatmap (A1111 surface: <c>ras_heatmap: true</c>).</summary>
    public bool Heatmaps { get; init; }

    /// <summary>Notes for the caller (ignored fields, a sampler that fell back to the default).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Images in all.</summary>
    public int ImageCount => BatchSize * Iterations;
}

/// <summary>Whether RAS is on and which of its options the request set (the rest take the model's <c>--ras</c> recommendation).</summary>
internal sealed record RasRequest(bool Enabled, RasPatch Patch)
{
    public static RasRequest Off { get; } = new(false, new RasPatch());

    /// <summary>The options for a run whose model recommends <paramref name="recommended"/>; dense when off.</summary>
    public RasOptions Resolve(RasOptions recommended) => Enabled ? Patch.Apply(recommended) : new RasOptions();
}

/// <summary>RAS options a request set explicitly; null fields keep the base options'.</summary>
internal sealed record RasPatch
{
    public double? SampleRatio { get; init; }

    public RasMetric? Metric { get; init; }

    public double? HighRatio { get; init; }

    public double? StarvationScale { get; init; }

    public int? SchedulerStartStep { get; init; }

    public int? SchedulerEndStep { get; init; }

    public IReadOnlyList<int>? ErrorResetSteps { get; init; }

    public int? SkipNumStep { get; init; }

    public int? SkipNumStepLength { get; init; }

    public RasSelectionMode? Selection { get; init; }

    public double? SampleRatioEnd { get; init; }

    public int? Dilate { get; init; }

    public bool IsEmpty => this == new RasPatch();

    public RasOptions Apply(RasOptions o) => o with
    {
        SampleRatio = SampleRatio ?? o.SampleRatio,
        Metric = Metric ?? o.Metric,
        HighRatio = HighRatio ?? o.HighRatio,
        StarvationScale = StarvationScale ?? o.StarvationScale,
        SchedulerStartStep = SchedulerStartStep ?? o.SchedulerStartStep,
        SchedulerEndStep = SchedulerEndStep ?? o.SchedulerEndStep,
        ErrorResetSteps = ErrorResetSteps ?? o.ErrorResetSteps,
        SkipNumStep = SkipNumStep ?? o.SkipNumStep,
        SkipNumStepLength = SkipNumStepLength ?? o.SkipNumStepLength,
        Selection = Selection ?? o.Selection,
        SampleRatioEnd = SampleRatioEnd ?? o.SampleRatioEnd,
        Dilate = Dilate ?? o.Dilate,
    };

    /// <summary>This patch with <paramref name="other"/>'s given fields on top.</summary>
    public RasPatch Then(RasPatch other) => new()
    {
        SampleRatio = other.SampleRatio ?? SampleRatio,
        Metric = other.Metric ?? Metric,
        HighRatio = other.HighRatio ?? HighRatio,
        StarvationScale = other.StarvationScale ?? StarvationScale,
        SchedulerStartStep = other.SchedulerStartStep ?? SchedulerStartStep,
        SchedulerEndStep = other.SchedulerEndStep ?? SchedulerEndStep,
        ErrorResetSteps = other.ErrorResetSteps ?? ErrorResetSteps,
        SkipNumStep = other.SkipNumStep ?? SkipNumStep,
        SkipNumStepLength = other.SkipNumStepLength ?? SkipNumStepLength,
        Selection = other.Selection ?? Selection,
        SampleRatioEnd = other.SampleRatioEnd ?? SampleRatioEnd,
        Dilate = other.Dilate ?? Dilate,
    };
}

/// <summary>One image of a finished job.</summary>
/// <param name="Png">The PNG, with the infotext in its <c>parameters</c> chunk.</param>
/// <param name="Infotext">That text.</param>
/// <param name="Seed">The image's seed (alone, it makes the same image).</param>
/// <param name="HeatmapPng">The RAS heatmap, when asked for.</param>
internal sealed record GeneratedImage(byte[] Png, string Infotext, long Seed, byte[]? HeatmapPng);

/// <summary>What a job made.</summary>
internal sealed record GenerationResult(
    IReadOnlyList<GeneratedImage> Images, int Width, int Height, int Steps, double CfgScale, double? DistilledCfgScale, ModelEntry Model,
    RasOptions Ras, IReadOnlyList<string> Warnings, bool Interrupted, DateTimeOffset Started);

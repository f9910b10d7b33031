using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using Ras.Data.Shapes;
using Ras.Models.SD3;
using Ras.Pipelines;
using Ras.RegionAdaptive;

namespace Ras.Evaluation;

/// <summary>One row of the evaluation table.</summary>
/// <param name="Method"><c>dense</c>, <c>ras</c> or <c>fewer-steps</c>.</param>
/// <param name="Selection">RAS selection mode (<c>official</c>/<c>revisit</c>), null otherwise.</param>
/// <param name="SampleRatio">RAS sample ratio, null otherwise.</param>
/// <param name="MatchesRatio">fewer-steps: the RAS ratio whose transformer FLOPs it matches.</param>
/// <param name="Steps">Denoising steps.</param>
/// <param name="Adherence">Share of images whose every attribute matches the caption.</param>
/// <param name="AttributeScore">Mean share of attributes right.</param>
/// <param name="Psnr">Mean PSNR (dB) against the dense image of the same seed; null for dense.</param>
/// <param name="Ssim">Mean SSIM against the dense image; null for dense.</param>
/// <param name="Seconds">Generation wall time for all prompts.</param>
/// <param name="Speedup">Dense seconds / these seconds.</param>
/// <param name="Flops">Transformer FLOPs per image (all steps, CFG included).</param>
/// <param name="Attributes">Per-attribute accuracy, to see which part of the caption the model misses.</param>
/// <param name="FlopsRatio">Dense FLOPs at the default step count ÷ this row's FLOPs (how many times less compute).</param>
/// <param name="Name">The configuration, e.g. <c>ras 20 steps ratio 0.5, revisit, …</c> (sweeps; the method otherwise).</param>
/// <param name="Family">The series a sweep's frontier is drawn per: <c>dense</c>, <c>ras official</c>, <c>ras revisit + delta</c>, …</param>
public sealed record EvalRow(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("selection")] string? Selection,
    [property: JsonPropertyName("sample_ratio")] double? SampleRatio,
    [property: JsonPropertyName("matches_ratio")] double? MatchesRatio,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("adherence")] double Adherence,
    [property: JsonPropertyName("attribute_score")] double AttributeScore,
    [property: JsonPropertyName("psnr")] double? Psnr,
    [property: JsonPropertyName("ssim")] double? Ssim,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("speedup")] double Speedup,
    [property: JsonPropertyName("flops")] double Flops,
    [property: JsonPropertyName("attributes")] AttributeAccuracy Attributes,
    [property: JsonPropertyName("flops_ratio")] double FlopsRatio = 1.0,
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("family")] string? Family = null);

/// <summary>Share right of each attribute the analyser checks, over all images (shape attributes over all captioned shapes).</summary>
/// <param name="Background">Background kind and colour(s).</param>
/// <param name="Present">A shape in the named cell.</param>
/// <param name="Colour">Its colour.</param>
/// <param name="Size">Its size.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="ByShapeCount">Adherence of the images with 1, 2 and 3 captioned shapes (null when there are none).</param>
public sealed record AttributeAccuracy(
    [property: JsonPropertyName("background")] double Background,
    [property: JsonPropertyName("present")] double Present,
    [property: JsonPropertyName("colour")] double Colour,
    [property: JsonPropertyName("size")] double Size,
    [property: JsonPropertyName("kind")] double Kind,
    [property: JsonPropertyName("adherence_by_shape_count")] IReadOnlyList<double?> ByShapeCount)
{
    /// <summary>Aggregates analyser reports.</summary>
    public static AttributeAccuracy Of(IReadOnlyList<SceneReport> reports)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var shapes = reports.SelectMany(r => r.Shapes).ToList();
        double Share(Func<ShapeReport, bool> right) => shapes.Count == 0 ? 0 : shapes.Average(s => right(s) ? 1.0 : 0.0);
        var byCount = Enumerable.Range(1, ShapeScene.MaxShapes)
            .Select(n => reports.Where(r => r.Shapes.Count == n).ToList())
            .Select(group => group.Count == 0 ? (double?)null : group.Average(r => r.Adherent ? 1.0 : 0.0))
            .ToList();
        return new AttributeAccuracy(reports.Average(r => r.Background ? 1.0 : 0.0), Share(s => s.Present), Share(s => s.Colour),
            Share(s => s.Size), Share(s => s.Kind), byCount);
    }
}

/// <summary>Settings of an evaluation run.</summary>
public sealed record EvalOptions
{
    /// <summary>Held-out prompts (scenes 0..N−1 of the evaluation stream).</summary>
    public int Prompts { get; init; } = 200;

    /// <summary>Seed of the held-out scenes and of the generation noise.</summary>
    public ulong Seed { get; init; }

    /// <summary>Images per generation call.</summary>
    public int BatchSize { get; init; } = 25;

    /// <summary>Steps of the dense and RAS rows.</summary>
    public int Steps { get; init; } = ShapesPipeline.DefaultSteps;

    /// <summary>Guidance scale.</summary>
    public double GuidanceScale { get; init; } = ShapesPipeline.DefaultGuidance;

    /// <summary>RAS sample ratios to evaluate.</summary>
    public IReadOnlyList<double> SampleRatios { get; init; } = [0.75, 0.5, 0.25];

    /// <summary>RAS settings apart from ratio and selection mode.</summary>
    public RasOptions Ras { get; init; } = ShapesPipeline.RecommendedRas;

    /// <summary>The preset row's RAS options; null = the model's <c>--ras</c> recommendation.</summary>
    public RasOptions? Preset { get; init; }

    /// <summary>The preset row's steps; null = the model's <c>--ras</c> step count when <see cref="Steps"/> is its default, else <see cref="Steps"/>.</summary>
    public int? PresetSteps { get; init; }
}

/// <summary>
/// Measures what RAS costs in quality on the held-out prompts: adherence (scene analyser), PSNR/SSIM against
/// the dense image of the same seed, time; against <c>fewer-steps</c> baselines of the same transformer
/// FLOPs (the comparison the RAS paper makes).
/// </summary>
public static class ShapesEvaluation
{
    /// <summary>
    /// Runs every row; <paramref name="progress"/> gets one line per finished row. <paramref name="images"/>, when
    /// given, receives each row's images under its label (<c>dense</c>, <c>ras 0.5 official</c>, <c>fewer-steps 0.5</c>, …).
    /// </summary>
    public static IReadOnlyList<EvalRow> Run(ShapesPipeline pipeline, EvalOptions options, IProgress<string>? progress = null,
        IDictionary<string, IReadOnlyList<byte[]>>? images = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        var scenes = Enumerable.Range(0, options.Prompts).Select(i => ShapeScene.Sample(options.Seed, ShapeScene.EvalStream, i)).ToList();
        var rows = new List<EvalRow>();

        // Untimed warm-up: libtorch's first calls allocate and choose kernels; without it the dense row, which runs
        // first, is charged for that and every speedup is overstated.
        pipeline.Generate(new ShapesRequest { Prompts = [scenes[0].Caption], Seed = (long)options.Seed, Steps = 2, GuidanceScale = options.GuidanceScale }, null, cancellationToken);

        var (denseImages, denseSeconds, denseFlops, _) = Generate(pipeline, scenes, options, options.Steps, new RasOptions(), cancellationToken);
        rows.Add(Score("dense", null, null, null, options.Steps, scenes, denseImages, null, denseSeconds, denseSeconds, denseFlops, pipeline));
        images?.Add("dense", denseImages);
        progress?.Report(Describe(rows[^1]));

        // The model's --ras preset and the fewer-steps run of the same compute: always reported, so a quick run checks the default.
        double flopsPerStep = denseFlops / options.Steps;
        RasOptions preset = options.Preset ?? pipeline.Defaults.RecommendedRas;
        PipelineDefaults defaults = pipeline.Defaults;
        int presetSteps = options.PresetSteps ?? (options.Steps == defaults.Steps ? defaults.RecommendedRasSteps ?? options.Steps : options.Steps);
        var (presetImages, presetSeconds, presetFlops, _) = Generate(pipeline, scenes, options, presetSteps, preset, cancellationToken);
        rows.Add(Score("preset", Selection(preset), preset.SampleRatio, null, presetSteps, scenes, presetImages, denseImages, presetSeconds, denseSeconds, presetFlops, pipeline)
            with { Name = $"preset ({presetSteps} steps, {Sweeps.SweepGrid.Describe(preset)})" });
        images?.Add("preset", presetImages);
        progress?.Report(Describe(rows[^1]));
        AddFewerSteps("fewer-steps preset", presetFlops, null);

        foreach (double ratio in options.SampleRatios)
        {
            double rasFlops = 0;
            foreach (RasSelectionMode mode in new[] { RasSelectionMode.Official, RasSelectionMode.Revisit })
            {
                RasOptions ras = options.Ras with { SampleRatio = ratio, Selection = mode };
                var (rasImages, seconds, flops, _) = Generate(pipeline, scenes, options, options.Steps, ras, cancellationToken);
                rasFlops = flops;
                string selection = Selection(ras);
                rows.Add(Score("ras", selection, ratio, null, options.Steps, scenes, rasImages, denseImages, seconds, denseSeconds, flops, pipeline));
                images?.Add(string.Create(CultureInfo.InvariantCulture, $"ras {ratio} {selection}"), rasImages);
                progress?.Report(Describe(rows[^1]));
            }

            AddFewerSteps(string.Create(CultureInfo.InvariantCulture, $"fewer-steps {ratio}"), rasFlops, ratio);
        }

        return rows.Select(r => r with { FlopsRatio = denseFlops / r.Flops, Name = r.Name ?? r.Method }).ToList();

        void AddFewerSteps(string label, double flops, double? matches)
        {
            int steps = Math.Max(1, (int)Math.Round(flops / flopsPerStep));
            var (fewImages, fewSeconds, fewFlops, _) = Generate(pipeline, scenes, options, steps, new RasOptions(), cancellationToken);
            rows.Add(Score("fewer-steps", null, null, matches, steps, scenes, fewImages, denseImages, fewSeconds, denseSeconds, fewFlops, pipeline)
                with { Name = matches is null ? "fewer-steps (= preset)" : null });
            images?.Add(label, fewImages);
            progress?.Report(Describe(rows[^1]));
        }
    }

    /// <summary>The rows as a markdown table.</summary>
    public static string Markdown(IReadOnlyList<EvalRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new System.Text.StringBuilder();
        text.AppendLine("| method | selection | sample ratio | steps | adherence | attributes | PSNR vs dense | SSIM vs dense | seconds | speedup | transformer GFLOPs/image | × fewer FLOPs |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (EvalRow r in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Method} | {r.Selection ?? "–"} | {Ratio(r)} | {r.Steps} | {r.Adherence:P1} | {r.AttributeScore:P1} | {(r.Psnr is double p ? p.ToString("0.00", CultureInfo.InvariantCulture) : "–")} | {(r.Ssim is double s ? s.ToString("0.000", CultureInfo.InvariantCulture) : "–")} | {r.Seconds:0.0} | {r.Speedup:0.00}× | {r.Flops / 1e9:0.0} | {r.FlopsRatio:0.00} |");
        }

        text.AppendLine();
        text.AppendLine("Attribute accuracy (shape attributes over every captioned shape; adherence split by the caption's shape count):");
        text.AppendLine();
        text.AppendLine("| method | selection | sample ratio | steps | background | shape present | colour | size | kind | adherence 1 / 2 / 3 shapes |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (EvalRow r in rows)
        {
            AttributeAccuracy a = r.Attributes;
            string byCount = string.Join(" / ", a.ByShapeCount.Select(v => v is double d ? d.ToString("P0", CultureInfo.InvariantCulture) : "–"));
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Method} | {r.Selection ?? "–"} | {Ratio(r)} | {r.Steps} | {a.Background:P1} | {a.Present:P1} | {a.Colour:P1} | {a.Size:P1} | {a.Kind:P1} | {byCount} |");
        }

        return text.ToString();
    }

    private static string Selection(RasOptions ras) => ras.Selection == RasSelectionMode.Revisit ? "revisit" : "official";

    private static string Ratio(EvalRow r) =>
        r.SampleRatio?.ToString("0.##", CultureInfo.InvariantCulture)
        ?? (r.MatchesRatio is double m ? $"(= RAS {m.ToString("0.##", CultureInfo.InvariantCulture)})" : r.Method == "fewer-steps" ? "(= preset)" : "1");

    private static string Describe(EvalRow r) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{r.Method} {r.Selection} {r.SampleRatio ?? r.MatchesRatio} steps {r.Steps}: adherence {r.Adherence:P1}, SSIM {r.Ssim:0.000}, {r.Seconds:0.0} s, speedup {r.Speedup:0.00}×");

    private static (List<byte[]> Images, double Seconds, double FlopsPerImage, int Tokens) Generate(
        ShapesPipeline pipeline, List<ShapeScene> scenes, EvalOptions options, int steps, RasOptions ras, CancellationToken cancellationToken) =>
        Generate(pipeline, scenes, options.Seed, options.BatchSize, options.GuidanceScale, steps, ras, cancellationToken);

    /// <summary>
    /// Generates one image per scene (batches of <paramref name="batchSize"/>, noise seed <c>seed + batch index</c>, so every
    /// configuration sees the same noise) and counts the transformer FLOPs per image from the layers actually run.
    /// </summary>
    internal static (List<byte[]> Images, double Seconds, double FlopsPerImage, int Tokens) Generate(ShapesPipeline pipeline, List<ShapeScene> scenes,
        ulong seed, int batchSize, double guidanceScale, int steps, RasOptions ras, CancellationToken cancellationToken)
    {
        var options = new EvalOptions { Seed = seed, BatchSize = batchSize, GuidanceScale = guidanceScale };
        var images = new List<byte[]>();
        var clock = Stopwatch.StartNew();
        double flops = 0;
        SD3TransformerConfig config = pipeline.Transformer.Config;
        int tokens = 0;
        for (int start = 0, batch = 0; start < scenes.Count; start += options.BatchSize, batch++)
        {
            var prompts = scenes.Skip(start).Take(options.BatchSize).Select(s => s.Caption).ToList();
            ShapesGeneration generation = pipeline.Generate(new ShapesRequest
            {
                Prompts = prompts,
                Seed = (long)options.Seed + batch,
                Steps = steps,
                GuidanceScale = options.GuidanceScale,
                Ras = ras,
            }, null, cancellationToken);
            images.AddRange(generation.Images);
            tokens = generation.Width / generation.PatchSize * (generation.Height / generation.PatchSize);
            if (start == 0)
            {
                int copies = options.GuidanceScale > 1 ? 2 : 1;
                flops = generation.Steps.Sum(s => SD3FlopCount.Forward(config, copies, tokens, s.ComputedTokens, pipeline.Tokenizer.MaxLength));
            }
        }

        return (images, clock.Elapsed.TotalSeconds, flops, tokens);
    }

    /// <summary>Scores images against their scenes (adherence, attributes) and, when given, the dense reference images (PSNR, SSIM).</summary>
    internal static EvalRow Score(string method, string? selection, double? ratio, double? matches, int steps, List<ShapeScene> scenes,
        List<byte[]> images, List<byte[]>? dense, double seconds, double denseSeconds, double flops, ShapesPipeline pipeline)
    {
        int size = pipeline.ImageSize;
        var reports = scenes.Select((scene, i) => SceneAnalyser.Analyse(images[i], size, scene)).ToList();
        double? psnr = dense is null ? null : images.Select((img, i) => Math.Min(100, ImageMetrics.Psnr(img, dense[i]))).Average();
        double? ssim = dense is null ? null : images.Select((img, i) => ImageMetrics.Ssim(img, dense[i], size, size)).Average();
        return new EvalRow(method, selection, ratio, matches, steps, reports.Average(r => r.Adherent ? 1.0 : 0.0), reports.Average(r => r.AttributeScore),
            psnr, ssim, seconds, denseSeconds / seconds, flops, AttributeAccuracy.Of(reports));
    }
}

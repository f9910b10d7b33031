using Ras.Errors;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Server.Models;
using static TorchSharp.torch;

namespace Ras.Server.Jobs;

/// <summary>
/// Runs jobs on the worker: keeps one model open (switching when a job names another), resolves what a spec left to the
/// model, makes the batches one after another through the library's <see cref="ITextToImagePipeline"/>, and encodes each
/// image as a PNG carrying its infotext (<see cref="Infotext"/>, shared with the CLI).
/// </summary>
internal sealed class GenerationRunner(Device? device, ComponentFiles components) : IDisposable
{
    private ITextToImagePipeline? pipeline;
    private ModelEntry? loaded;

    /// <summary>The open model's defaults, when <paramref name="model"/> is the open one.</summary>
    public PipelineDefaults? DefaultsOf(ModelEntry model) => loaded == model ? pipeline?.Defaults : null;

    public GenerationResult Run(Job job, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(job);
        GenerationSpec spec = job.Spec;
        ITextToImagePipeline model = Open(spec.Model);
        PipelineDefaults defaults = model.Defaults;
        int? width = spec.Width ?? (spec.InitImage is null ? defaults.Width : null);
        int? height = spec.Height ?? (spec.InitImage is null ? defaults.Height : null);
        RasOptions ras = spec.Ras.Resolve(defaults.RecommendedRasFor(width ?? defaults.Width, height ?? defaults.Height));
        (double? guidance, FamilyExtras? extras) = Guidance(spec, defaults.GuidanceKind);
        var images = new List<GeneratedImage>();
        var warnings = new List<string>(spec.Warnings);
        DateTimeOffset started = DateTimeOffset.UtcNow;
        int resolvedWidth = 0, resolvedHeight = 0, steps = spec.Steps ?? defaults.Steps;
        double cfg = 0;
        double? distilled = null;
        // Every image is its own run from its own seed, so that seed alone makes it again byte for byte (a batched forward
        // rounds differently from a single one); A1111's n_iter batches of batch_size images are made one image after another.
        int count = spec.Iterations * spec.BatchSize;
        for (int n = 0; n < count && !job.Interrupted; n++)
        {
            CancellationToken stop = job.BeginBatch();
            var request = new ImageRequest
            {
                Prompts = [spec.Prompt],
                NegativePrompt = spec.NegativePrompt,
                Seed = spec.Seed + n,
                SeedPerImage = true,
                Steps = spec.Steps,
                GuidanceScale = guidance,
                Width = width,
                Height = height,
                Ras = ras,
                Extras = extras,
                InitImage = spec.InitImage,
                Strength = spec.Strength,
                Preview = true,
                Stop = stop,
            };
            int image = n;
            var progress = new Reports(p =>
            {
                if (p.Stage == GenerationStage.Denoise)
                {
                    int id = (job.Progress?.PreviewId ?? 0) + 1;
                    job.Progress = new JobProgress(image, count, p.Step, p.Total, p.ComputedTokens, p.TotalTokens, p.Preview, id);
                }
            });
            job.Progress = new JobProgress(n, count, 0, steps, 0, 0, job.Progress?.Preview, job.Progress?.PreviewId ?? 0);
            ImageGeneration generation = model.GenerateAsync(request, progress, cancellation).GetAwaiter().GetResult();
            warnings.AddRange(generation.Warnings.Where(w => !warnings.Contains(w)));
            (resolvedWidth, resolvedHeight, steps) = (generation.Width, generation.Height, generation.Settings.Steps);
            cfg = defaults.GuidanceKind == GuidanceKind.ClassifierFree ? generation.Settings.GuidanceScale : (generation.Settings.Extras as FluxExtras)?.TrueCfgScale ?? 1.0;
            distilled = defaults.GuidanceKind == GuidanceKind.Embedded ? generation.Settings.GuidanceScale : null;
            string text = Infotext.For(request, generation, 0, defaults.GuidanceKind, spec.Model.Identity);
            byte[] png = PngWriter.Encode(generation.Images[0], generation.Width, generation.Height, new Dictionary<string, string> { ["parameters"] = text });
            images.Add(new GeneratedImage(png, text, request.Seed, spec.Heatmaps ? Heatmap(generation, 0) : null));
        }

        if (job.Interrupted)
        {
            warnings.Add("interrupted: the images are those of the last finished step");
        }

        return new GenerationResult(images, resolvedWidth, resolvedHeight, steps, cfg, distilled, spec.Model, ras, warnings, job.Interrupted, started);
    }

    public void Dispose()
    {
        pipeline?.Dispose();
        pipeline = null;
        loaded = null;
    }

    /// <summary>The heatmap PNG of image <paramref name="i"/>, upscaled as the CLI's <c>--heatmap</c> (small images to about 256 px).</summary>
    public static byte[] Heatmap(ImageGeneration generation, int i)
    {
        ArgumentNullException.ThrowIfNull(generation);
        byte[] overlay = ComputeHeatmap.Overlay(generation.Images[i], generation.Width, generation.Height, generation.PatchSize,
            generation.TokenComputeCounts[i], generation.Steps.Count);
        int factor = Math.Max(1, 256 / Math.Max(generation.Width, generation.Height));
        return PngWriter.Encode(ImageTensors.Upscale(overlay, generation.Width, generation.Height, factor), generation.Width * factor, generation.Height * factor);
    }

    /// <summary>
    /// A1111/Forge guidance fields onto the model's: CFG models take <c>cfg_scale</c>; FLUX.1 takes <c>distilled_cfg_scale</c> as
    /// its embedded guidance, and <c>cfg_scale</c> &gt; 1 with a negative prompt turns on true CFG, as in Forge.
    /// </summary>
    private static (double? Guidance, FamilyExtras? Extras) Guidance(GenerationSpec spec, GuidanceKind kind)
    {
        if (kind == GuidanceKind.ClassifierFree)
        {
            return (spec.CfgScale, null);
        }

        FamilyExtras? extras = spec.CfgScale > 1 && spec.NegativePrompt.Length > 0 ? new FluxExtras { TrueCfgScale = spec.CfgScale } : null;
        return (kind == GuidanceKind.Embedded ? spec.DistilledCfgScale : null, extras);
    }

    private ITextToImagePipeline Open(ModelEntry model)
    {
        if (loaded == model && pipeline is not null)
        {
            return pipeline;
        }

        pipeline?.Dispose();
        pipeline = null;
        loaded = null;
        try
        {
            // Component files go with single files only: a pipeline folder (and the built-in model) has its own.
            pipeline = TextToImagePipeline.Open(model.Path, device: device, components: File.Exists(model.Path) ? components : null);
        }
        catch (RasInputException e)
        {
            throw new RasInputException($"sd_model_checkpoint: {model.Title} cannot be opened: {e.Message}", e);
        }

        loaded = model;
        return pipeline;
    }

    private sealed class Reports(Action<GenerationProgress> handler) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => handler(value);
    }
}

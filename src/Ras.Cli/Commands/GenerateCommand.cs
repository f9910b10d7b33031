using System.CommandLine;
using System.Globalization;
using Ras.Cli.Options;
using Ras.Cli.Terminal;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Files;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.Pipelines.Lumina;
using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;

namespace Ras.Cli.Commands;

/// <summary><c>ras generate</c>: text to PNG, dense by default, RAS with <c>--ras</c> or explicit RAS flags.</summary>
internal sealed class GenerateCommand : ICliCommand
{
    private readonly Argument<string> prompt = new("prompt") { Description = "What to draw." };
    private readonly Option<string?> model = new("--model") { Description = "A diffusers pipeline folder (SD3 / SD3.5, FLUX.1, Lumina-Next, ras-shapes) or a single file, .safetensors (any dtype, fp8) or .gguf (Stability's SD3 / SD3.5 layout, Black Forest Labs' FLUX.1 layout, with or without ComfyUI's model.diffusion_model. prefix); the text encoders and VAE it lacks come from --clip-l/--clip-g/--t5/--vae or --config. Default: the built-in ras-shapes model (64×64 procedural shapes)." };
    private readonly Option<string?> config = new("--config") { Description = "For a single-file checkpoint: a diffusers folder of the same family whose configs, tokenizer files and (for components not given as files) weights are used, as diffusers' from_single_file(config=…). Without it the standard configs and the built-in CLIP and T5 tokenizers are used." };
    private readonly Option<string> negative = new("--negative-prompt") { Description = "Negative prompt for CFG (FLUX.1: only with --true-cfg). Default: empty.", DefaultValueFactory = _ => string.Empty };
    private readonly Option<int?> width = new("--width") { Description = "Width in pixels: a multiple of 16 for SD3, FLUX.1 and Lumina-Next (VAE 8 × patch 2), of 4 for ras-shapes (at most 64). Default: the model's native size (img2img: the input's, rounded down; ras-shapes: its native size when the input's does not fit)." };
    private readonly Option<int?> height = new("--height") { Description = "Height in pixels (as --width). Default: the model's native size." };
    private readonly Option<int?> steps = new("--steps") { Description = $"Denoising steps. Default: SD3 {StableDiffusion3Pipeline.DefaultSteps}, FLUX.1-dev {FluxPipeline.DevSteps}, FLUX.1-schnell {FluxPipeline.SchnellSteps}, Lumina-Next {LuminaText2ImgPipeline.DefaultSteps}, ras-shapes {ShapesPipeline.DefaultSteps}." };
    private readonly Option<double?> guidance = new("--guidance") { Description = $"Guidance scale: classifier-free (on when > 1) for SD3, Lumina-Next and ras-shapes; FLUX.1-dev's embedded guidance (an input of the model, one pass); ignored by FLUX.1-schnell. Default: SD3 {StableDiffusion3Pipeline.DefaultGuidance.ToString(CultureInfo.InvariantCulture)}, FLUX.1-dev {FluxPipeline.DevGuidance.ToString(CultureInfo.InvariantCulture)}, Lumina-Next {LuminaText2ImgPipeline.DefaultGuidance.ToString(CultureInfo.InvariantCulture)}, ras-shapes {ShapesPipeline.DefaultGuidance.ToString(CultureInfo.InvariantCulture)}." };
    private readonly Option<long?> seed = new("--seed") { Description = "Seed of the initial noise: image i of a batch is the randn draw of seed + i (as A1111), so each can be made again alone. Default: random (printed)." };
    private readonly Option<int> batch = new("--batch") { Description = "Images of the same prompt; written as OUT-0.png … OUT-(N-1).png.", DefaultValueFactory = _ => 1 };
    private readonly Option<double?> shift = new("--shift") { Description = "Scheduler shift (a static shift; FLUX.1-dev shifts by the image size instead). Default: the scheduler config's (3.0 for SD3)." };
    private readonly Option<string?> image = new("--image") { Description = "Image-to-image (every family, ras-shapes included): the input picture (PNG, JPEG, BMP…), resized to the output size; it is noised to the first step's sigma and denoised for the strength's share of the steps." };
    private readonly Option<double?> strength = new("--strength") { Description = "Image-to-image strength in (0, 1]: share of the schedule that is run; 1 = ignore the input's content. Default: 0.6." };
    private readonly WeightStorageFlag weightStorage = new("auto");
    private readonly Option<string> output = new("--out") { Description = "PNG to write (a .png path; the parameters go in its text chunk).", DefaultValueFactory = _ => "out.png" };
    private readonly Option<bool> useRas = new("--ras") { Description = "Turn RAS on with the model's recommended settings (SD3 and FLUX.1-dev: sample-ratio 0.5, high-ratio 0.3, starvation-scale 1, official selection; FLUX.1-schnell: the same from step 2 with no reset; the built-in ras-shapes: the frontier sweep's choice, 14 steps (unless --steps is given) at sample-ratio 0.5 from step 2 with metric delta, dilate 1, high-ratio 0 and revisit selection; Lumina-Next: the official script's sample-ratio 0.5 with skip-num-step 256 every 4 steps at 1024², scaled to the image's token count); explicit RAS flags override them." };
    private readonly Option<string?> heatmap = new("--heatmap") { Description = "Also write a PNG (a .png path other than --out) showing, per token, in how many steps it was computed (blue few, red all), over the image." };
    private readonly ComponentFileFlags components = new();
    private readonly FamilyFlags family = new();
    private readonly RasFlags ras = new();
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("generate", "Generate images from a prompt with an SD3 / SD3.5, FLUX.1 or Lumina-Next checkpoint or the built-in ras-shapes model. Dense unless --ras or a RAS flag is given.")
        {
            prompt, model, config, negative, width, height, steps, guidance, seed, batch, shift, image, strength, weightStorage.Option, output, useRas, heatmap,
        };
        components.AddTo(command);
        family.AddTo(command);
        ras.AddTo(command);
        compute.AddTo(command);
        return command;
    }

    public async Task<int> RunAsync(ParseResult result, CliContext context)
    {
        var device = compute.Apply(result);
        string outPath = OutputPath.RequirePng("out", result.GetValue(output));
        string? heatPath = result.GetValue(heatmap) is { } heat ? OutputPath.RequirePng("heatmap", heat) : null;
        int count = result.GetValue(batch);
        if (count < 1)
        {
            throw new OptionsException("batch", $"must be at least 1, found {count}");
        }

        var outputs = OutputPaths(outPath, count);
        var heatmaps = heatPath is null ? [] : OutputPaths(heatPath, count);
        OutputPath.RequireDistinct("heatmap", heatmaps, "out", outputs);
        foreach (string path in outputs.Concat(heatmaps))
        {
            AtomicFile.EnsureWritable(path);
        }

        if (result.GetValue(strength) is not null && result.GetValue(image) is null)
        {
            throw new OptionsException("strength", "applies to image-to-image only; pass --image");
        }

        RgbImage? initImage = result.GetValue(image) is string imagePath ? ImageReader.Read(imagePath) : null;
        string? modelPath = result.GetValue(model);
        WeightStorage storage = weightStorage.Apply(result);
        string modelFolder = modelPath ?? context.BuiltInModelFolder();
        using ITextToImagePipeline pipeline = TextToImagePipeline.Open(modelFolder, result.GetValue(config), device, storage, components.Apply(result));
        ModelIdentity identity = ModelIdentity.Of(modelFolder, modelPath is null ? BuiltInModel.Name : null);
        FamilyExtras? extras = family.Extras(pipeline.Family, result);
        PipelineDefaults defaults = pipeline.Defaults;
        RasOptions recommended = defaults.RecommendedRasFor(result.GetValue(width) ?? defaults.Width, result.GetValue(height) ?? defaults.Height);
        RasOptions rasOptions = ras.Apply(result, result.GetValue(useRas) ? recommended : new RasOptions());
        long seedValue = result.GetValue(seed) ?? InitialNoise.NewSeed();
        var request = new ImageRequest
        {
            Prompts = [result.GetValue(prompt)!],
            NegativePrompt = result.GetValue(negative)!,
            ImagesPerPrompt = count,
            Seed = seedValue,
            SeedPerImage = true,
            Steps = result.GetValue(steps) ?? (result.GetValue(useRas) ? defaults.RecommendedRasSteps : null),   // a preset may take fewer steps
            GuidanceScale = result.GetValue(guidance),
            Width = result.GetValue(width),
            Height = result.GetValue(height),
            Extras = extras,
            Shift = result.GetValue(shift),
            InitImage = initImage,
            Strength = result.GetValue(strength) ?? 0.6,
            Ras = rasOptions,
        };

        int stepCount = request.Steps ?? defaults.Steps;
        context.Out.WriteLine($"model:    {pipeline.Description}");
        context.Out.WriteLine($"prompt:   {request.Prompts[0]}");
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sampler:  {stepCount} steps, guidance {request.GuidanceScale ?? defaults.GuidanceScale}, seed {seedValue}, {request.Width ?? defaults.Width}×{request.Height ?? defaults.Height} (or the input's size), batch {count}"));
        if (initImage is not null)
        {
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"image:    {result.GetValue(image)} ({initImage.Width}×{initImage.Height}), strength {request.Strength}"));
        }

        context.Out.WriteLine($"RAS:      {RasFlags.Describe(rasOptions, stepCount)}");
        context.Out.WriteLine($"device:   {ComputeFlags.Describe(device)}");

        ImageGeneration generation = await pipeline.GenerateAsync(request, new ProgressBar(context.Error, "denoise "), context.Cancellation).ConfigureAwait(false);
        foreach (string warning in generation.Warnings)
        {
            context.Error.WriteLine($"ras: warning: {warning}");
        }

        for (int i = 0; i < count; i++)
        {
            string parameters = Infotext.For(request, generation, i, defaults.GuidanceKind, identity);
            PngWriter.Write(outputs[i], generation.Images[i], generation.Width, generation.Height, new Dictionary<string, string> { ["parameters"] = parameters });
            if (heatPath is not null)
            {
                byte[] overlay = ComputeHeatmap.Overlay(generation.Images[i], generation.Width, generation.Height, generation.PatchSize,
                    generation.TokenComputeCounts[i], generation.Steps.Count);
                int factor = Math.Max(1, 256 / Math.Max(generation.Width, generation.Height));
                PngWriter.Write(heatmaps[i], ImageTensors.Upscale(overlay, generation.Width, generation.Height, factor), generation.Width * factor, generation.Height * factor,
                    new Dictionary<string, string> { ["parameters"] = parameters, ["Comment"] = "RAS compute heatmap: blue = computed in few steps, red = every step" });
            }
        }

        WriteSummary(context.Out, generation, outputs, heatmaps);
        return ExitCodes.Ok;
    }

    private static List<string> OutputPaths(string path, int count)
    {
        if (count == 1)
        {
            return [path];
        }

        string extension = Path.GetExtension(path);
        string stem = path[..^extension.Length];
        return Enumerable.Range(0, count).Select(i => $"{stem}-{i}{extension}").ToList();
    }

    private static void WriteSummary(TextWriter o, ImageGeneration generation, List<string> outputs, List<string> heatmaps)
    {
        int tokens = generation.Width / generation.PatchSize * (generation.Height / generation.PatchSize);
        int sparse = generation.Steps.Count(s => s.Kind == RasStepKind.Sparse);
        long computed = generation.Steps.Sum(s => (long)s.ComputedTokens);
        o.WriteLine($"steps:    {generation.Steps.Count} ({generation.Steps.Count - sparse} dense, {sparse} RAS)");
        o.WriteLine($"tokens:   per step [{string.Join(" ", generation.Steps.Select(s => s.ComputedTokens))}]; {computed}/{(long)tokens * generation.Steps.Count} computed per image");
        o.WriteLine("time:     " + string.Join(", ", generation.Timings.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Value:0.00} s"))));
        long peak = Ras.Cli.Bench.ProcessMemory.PeakResidentBytes();
        if (peak > 0)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory:   peak resident {peak / (1024.0 * 1024 * 1024):0.00} GiB"));
        }

        o.WriteLine($"wrote:    {string.Join(", ", outputs)}");
        if (heatmaps.Count > 0)
        {
            o.WriteLine($"heatmap:  {string.Join(", ", heatmaps)}{(generation.Settings.Ras.Enabled ? string.Empty : " (RAS is off: every token was computed in every step)")}");
        }
    }
}

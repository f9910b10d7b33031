using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ras.Cli.Options;
using Ras.Cli.Terminal;
using Ras.Errors;
using Ras.IO.Files;
using Ras.IO.Safetensors;
using Ras.Models.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Cli.Commands;

/// <summary><c>ras denoise</c>: the sampling loop from given latents (or a seed) and prompt embeddings.</summary>
internal sealed class DenoiseCommand : ICliCommand
{
    private readonly Option<string> model = new("--model") { Description = "Diffusers pipeline folder holding transformer/ and scheduler/.", Required = true };
    private readonly Option<string> inputs = new("--inputs")
    {
        Description = "Safetensors with prompt_embeds, pooled_prompt_embeds, (guidance > 1) negative_prompt_embeds and negative_pooled_prompt_embeds, and optionally latents [B,C,H,W].",
        Required = true,
    };

    private readonly Option<string> output = new("--out") { Description = "Where to write the final latents (safetensors, tensor 'latents', float32).", Required = true };
    private readonly Option<int> steps = new("--steps") { Description = "Denoising steps. Default: 28.", DefaultValueFactory = _ => 28 };
    private readonly Option<double> guidance = new("--guidance") { Description = "Classifier-free guidance scale; CFG is on when > 1. Default: 7.0.", DefaultValueFactory = _ => 7.0 };
    private readonly Option<long?> seed = new("--seed") { Description = "Seed for the initial latents when the inputs hold none. Default: random (printed)." };
    private readonly Option<int?> width = new("--width") { Description = "Image width in pixels (latents are 1/8) when the inputs hold no latents. Default: the model's sample_size × 8." };
    private readonly Option<int?> height = new("--height") { Description = "Image height in pixels when the inputs hold no latents. Default: the model's sample_size × 8." };
    private readonly RasFlags ras = new();
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("denoise", "Run the flow-matching Euler loop (with CFG and optional RAS) on prompt embeddings; writes the final latents. Dense unless --sample-ratio < 1.")
        {
            model, inputs, output, steps, guidance, seed, width, height,
        };
        ras.AddTo(command);
        compute.AddTo(command);
        return command;
    }

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        Device device = compute.Apply(result);
        string modelDir = result.GetValue(model)!;
        string outPath = result.GetValue(output)!;
        var sampler = new SamplerOptions { Steps = result.GetValue(steps), GuidanceScale = result.GetValue(guidance) };
        sampler.Validate();
        RasOptions rasOptions = ras.Apply(result, new RasOptions());
        AtomicFile.EnsureWritable(outPath);

        string transformerDir = Path.Combine(modelDir, "transformer");
        string schedulerConfig = Path.Combine(modelDir, "scheduler", "scheduler_config.json");
        if (!File.Exists(Path.Combine(transformerDir, "config.json")))
        {
            throw new RasInputException($"{modelDir}: not a diffusers pipeline folder (no transformer/config.json)");
        }

        if (!File.Exists(schedulerConfig))
        {
            throw new RasInputException($"{modelDir}: no scheduler/scheduler_config.json");
        }

        var scheduler = new FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteSchedulerConfig.Load(schedulerConfig));
        using var transformer = SD3Transformer2DModel.FromPretrained(transformerDir, device);
        SD3TransformerConfig config = transformer.Config;
        using var inputFile = SafetensorsFile.Open(result.GetValue(inputs)!);
        using var scope = NewDisposeScope();

        Tensor promptEmbeds = Require(inputFile, "prompt_embeds").to(device);
        Tensor pooled = Require(inputFile, "pooled_prompt_embeds").to(device);
        Tensor? negative = sampler.UsesGuidance ? Require(inputFile, "negative_prompt_embeds").to(device) : null;
        Tensor? negativePooled = sampler.UsesGuidance ? Require(inputFile, "negative_pooled_prompt_embeds").to(device) : null;
        (Tensor latents, string origin) = InitialLatents(result, inputFile, config, (int)promptEmbeds.shape[0], device);
        RasPlan.Create(rasOptions, sampler.Steps, (int)latents.shape[2] / config.PatchSize, (int)latents.shape[3] / config.PatchSize);

        context.Out.WriteLine($"model:    {modelDir} (SD3Transformer2DModel, {config.NumLayers} layers, {config.NumAttentionHeads}×{config.AttentionHeadDim} heads, patch {config.PatchSize}, qk_norm {config.QkNorm}, {config.DualAttentionLayers.Count} dual-attention layers)");
        context.Out.WriteLine($"latents:  [{string.Join(",", latents.shape)}] ({latents.shape[2] / config.PatchSize * (latents.shape[3] / config.PatchSize)} tokens per image), {origin}");
        context.Out.WriteLine($"sampler:  {sampler.Steps} steps, guidance {sampler.GuidanceScale.ToString(CultureInfo.InvariantCulture)} (CFG {(sampler.UsesGuidance ? "on" : "off")}), shift {scheduler.Config.Shift.ToString(CultureInfo.InvariantCulture)}");
        context.Out.WriteLine($"RAS:      {RasFlags.Describe(rasOptions, sampler.Steps)}");
        context.Out.WriteLine($"device:   {ComputeFlags.Describe(device)}");

        using var conditioning = SD3Conditioning.Create(promptEmbeds, pooled, negative, negativePooled, (int)latents.shape[0], sampler.UsesGuidance);
        using var session = new RasSession(rasOptions);
        var clock = Stopwatch.StartNew();
        Tensor final = FlowMatchEulerSampler.Sample(new SD3Denoiser(transformer, conditioning), scheduler, latents, sampler, session,
            new ProgressBar(context.Error, "denoise"), context.Cancellation);
        clock.Stop();

        using (final)
        {
            var metadata = new Dictionary<string, string>
            {
                ["steps"] = sampler.Steps.ToString(CultureInfo.InvariantCulture),
                ["guidance"] = sampler.GuidanceScale.ToString(CultureInfo.InvariantCulture),
                ["ras"] = RasFlags.Describe(rasOptions, sampler.Steps),
                ["latents"] = origin,
            };
            SafetensorsWriter.Write(outPath, new Dictionary<string, Tensor> { ["latents"] = final }, metadata);
        }

        WriteSummary(context.Out, session, clock.Elapsed, outPath);
        return Task.FromResult(ExitCodes.Ok);
    }

    private (Tensor Latents, string Origin) InitialLatents(ParseResult result, SafetensorsFile file, SD3TransformerConfig config, int batch, Device device)
    {
        if (file.Contains("latents"))
        {
            Tensor given = file.Read("latents", ScalarType.Float32);
            long[] shape = given.shape;
            if (shape.Length != 4 || shape[1] != config.InChannels || shape[2] % config.PatchSize != 0 || shape[3] % config.PatchSize != 0)
            {
                throw new SafetensorsException(file.FilePath, "latents",
                    $"shape [{string.Join(", ", shape)}] must be [B, {config.InChannels}, H, W] with H and W multiples of the patch size {config.PatchSize}");
            }

            return (given.to(device), $"from {file.FilePath}");
        }

        int pixelsPerLatent = 8;
        int multiple = pixelsPerLatent * config.PatchSize;
        int w = result.GetValue(width) ?? config.SampleSize * pixelsPerLatent;
        int h = result.GetValue(height) ?? config.SampleSize * pixelsPerLatent;
        if (w <= 0 || w % multiple != 0)
        {
            throw new OptionsException("width", $"must be a positive multiple of {multiple} (VAE factor 8 × patch {config.PatchSize}), found {w}");
        }

        if (h <= 0 || h % multiple != 0)
        {
            throw new OptionsException("height", $"must be a positive multiple of {multiple} (VAE factor 8 × patch {config.PatchSize}), found {h}");
        }

        long s = result.GetValue(seed) ?? InitialNoise.NewSeed();
        Tensor drawn = InitialNoise.Draw([batch, config.InChannels, h / pixelsPerLatent, w / pixelsPerLatent], s, device);
        return (drawn, $"seed {s} ({w}×{h} px)");
    }

    private static Tensor Require(SafetensorsFile file, string name) =>
        file.Contains(name) ? file.Read(name, ScalarType.Float32) : throw new SafetensorsException(file.FilePath, name, "required but missing");

    private static void WriteSummary(TextWriter output, RasSession session, TimeSpan elapsed, string outPath)
    {
        var records = session.Records;
        int sparse = records.Count(r => r.Kind == RasStepKind.Sparse);
        long computed = records.Sum(r => (long)r.ComputedTokens);
        long total = records.Count * (long)(session.Plan?.TokenCount ?? 0);
        output.WriteLine($"steps:    {records.Count} ({records.Count - sparse} dense, {sparse} RAS)");
        output.WriteLine($"tokens:   per step [{string.Join(" ", records.Select(r => r.ComputedTokens))}]; {computed}/{total} computed ({100.0 * computed / Math.Max(1, total):0.0}%)");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time:     {elapsed.TotalSeconds:0.00} s ({elapsed.TotalSeconds / Math.Max(1, records.Count):0.000} s/step)"));
        output.WriteLine($"wrote:    {outPath}");
    }
}

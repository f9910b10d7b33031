using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ras.Cli.Options;
using Ras.Cli.Terminal;
using Ras.Errors;
using Ras.IO.Files;
using Ras.IO.Safetensors;
using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.Pipelines.Lumina;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Cli.Commands;

/// <summary><c>ras denoise</c>: the sampling loop from given latents (or a seed) and prompt embeddings, for SD3 and Lumina-Next transformers.</summary>
internal sealed class DenoiseCommand : ICliCommand
{
    private readonly Option<string> model = new("--model") { Description = "Diffusers pipeline folder holding transformer/ (SD3Transformer2DModel, FluxTransformer2DModel or LuminaNextDiT2DModel) and scheduler/.", Required = true };
    private readonly Option<string> inputs = new("--inputs")
    {
        Description = "Safetensors with the conditioning and optionally latents [B,C,H,W]. SD3: prompt_embeds, pooled_prompt_embeds and, with guidance > 1, negative_prompt_embeds, negative_pooled_prompt_embeds. " +
            "Lumina-Next: prompt_embeds [B,L,caption_dim], prompt_attention_mask [B,L] (int64, 1 = valid) and, with guidance > 1, negative_prompt_embeds, negative_prompt_attention_mask. " +
            "FLUX.1: prompt_embeds [B,L,joint_dim] (T5), pooled_prompt_embeds [B,pooled_dim] (CLIP) and, with --true-cfg, the negative ones; latents may be packed [B,N,64] with img_ids [N,3] (written back packed). Other tensors are ignored.",
        Required = true,
    };

    private readonly Option<string> output = new("--out") { Description = "Where to write the final latents (safetensors, tensor 'latents', float32).", Required = true };
    private readonly Option<int?> steps = new("--steps") { Description = $"Denoising steps. Default: SD3 28, FLUX.1-dev {FluxPipeline.DevSteps}, FLUX.1-schnell {FluxPipeline.SchnellSteps}, Lumina-Next {LuminaText2ImgPipeline.DefaultSteps}." };
    private readonly Option<double?> trueCfg = new("--true-cfg") { Description = "FLUX.1: true classifier-free guidance (needs negative_prompt_embeds and negative_pooled_prompt_embeds), on when > 1. Default: off." };
    private readonly Option<double?> guidance = new("--guidance") { Description = $"Guidance scale: classifier-free (on when > 1) for SD3 and Lumina-Next, the embedded guidance for FLUX.1-dev, ignored (with a note) for FLUX.1-schnell. Default: SD3 7.0, FLUX.1-dev {FluxPipeline.DevGuidance.ToString(CultureInfo.InvariantCulture)}, Lumina-Next {LuminaText2ImgPipeline.DefaultGuidance.ToString(CultureInfo.InvariantCulture)}." };
    private readonly Option<long?> seed = new("--seed") { Description = "Seed for the initial latents when the inputs hold none. Default: random (printed)." };
    private readonly Option<int?> width = new("--width") { Description = "Image width in pixels (latents are 1/8) when the inputs hold no latents. Default: the model's sample_size × 8." };
    private readonly Option<int?> height = new("--height") { Description = "Image height in pixels when the inputs hold no latents. Default: the model's sample_size × 8." };
    private readonly Option<double?> scalingWatershed = new("--scaling-watershed") { Description = "Lumina-Next: steps whose model time is below it scale RoPE linearly, later ones with NTK. Default: 1.0 (diffusers)." };
    private readonly Option<string?> proportionalAttn = new("--proportional-attn") { Description = "Lumina-Next: true|false, scale self-attention by √(log N / log base) off the trained resolution. Default: true (diffusers)." };
    private readonly RasFlags ras = new();
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("denoise", "Run the flow-matching Euler loop (with the family's guidance and optional RAS) on prompt embeddings for an SD3, FLUX.1 or Lumina-Next transformer; writes the final latents. Dense unless --sample-ratio < 1.")
        {
            model, inputs, output, steps, guidance, trueCfg, seed, width, height, scalingWatershed, proportionalAttn,
        };
        ras.AddTo(command);
        compute.AddTo(command);
        return command;
    }

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        Device device = compute.Apply(result);
        string modelDir = result.GetValue(model)!;
        string outPath = OutputPath.Require("out", result.GetValue(output));
        RasOptions rasOptions = ras.Apply(result, new RasOptions());
        (LuminaSamplingOptions lumina, string? luminaFlag) = LuminaOptions(result);
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

        ModelFamily family = ModelFamilies.ForTransformerFolder(transformerDir);
        if (luminaFlag is not null && family.ExtrasType != typeof(LuminaSamplingOptions))
        {
            throw new OptionsException(luminaFlag, $"applies to {LuminaFamily.Instance.TransformerClassName} transformers only; this one is '{family.TransformerClassName}'");
        }

        var scheduler = new FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteSchedulerConfig.Load(schedulerConfig));
        using DenoisingTransformer transformer = family.LoadTransformer(transformerDir, device, luminaFlag is null ? null : lumina);
        double? givenGuidance = result.GetValue(guidance);
        if (givenGuidance is not null && transformer.GuidanceKind == GuidanceKind.None)
        {
            context.Error.WriteLine("ras: note: --guidance is ignored: this transformer takes no guidance (as diffusers ignores guidance_scale for it)");
        }

        Guidance resolved = Guidance.For(transformer.GuidanceKind, givenGuidance ?? transformer.DefaultGuidance, result.GetValue(trueCfg));
        var sampler = new SamplerOptions { Steps = result.GetValue(steps) ?? transformer.DefaultSteps, CfgScale = resolved.CfgScale };
        sampler.Validate();
        using var inputFile = SafetensorsFile.Open(result.GetValue(inputs)!);
        var conditioningInputs = ConditioningInputs.FromFile(inputFile);
        using var scope = NewDisposeScope();
        using var cancel = transformer.CancelBetweenBlocks(context.Cancellation);

        (Tensor latents, Func<Tensor, Tensor> toInputLayout, string origin) = InitialLatents(result, conditioningInputs, transformer, device);
        int patch = transformer.PatchSize;
        RasPlan.Create(rasOptions, sampler.Steps, (int)latents.shape[2] / patch, (int)latents.shape[3] / patch);
        long tokens = latents.shape[2] / patch * (latents.shape[3] / patch);

        context.Out.WriteLine($"model:    {modelDir} ({transformer.Summary})");
        context.Out.WriteLine($"latents:  [{string.Join(",", latents.shape)}] ({tokens} tokens per image), {origin}");
        context.Out.WriteLine($"sampler:  {sampler.Steps} steps, {GuidanceText.Describe(transformer.GuidanceKind, resolved)}, shift {scheduler.Config.Shift.ToString(CultureInfo.InvariantCulture)}");
        context.Out.WriteLine($"RAS:      {RasFlags.Describe(rasOptions, sampler.Steps)}");
        context.Out.WriteLine($"device:   {ComputeFlags.Describe(device)}");

        (IDenoiser denoiser, IDisposable conditioning) = transformer.Bind(conditioningInputs, (int)latents.shape[0], resolved, device);
        using (conditioning)
        {
            using var session = new RasSession(rasOptions);
            var clock = Stopwatch.StartNew();
            FlowMatchSchedule schedule = transformer.Schedule(scheduler, sampler.Steps, tokens);
            Tensor final = FlowMatchEulerSampler.Sample(denoiser, schedule, latents, sampler, session, new ProgressBar(context.Error, "denoise"), context.Cancellation);
            clock.Stop();

            using (final)
            using (Tensor written = toInputLayout(final))
            {
                var metadata = new Dictionary<string, string>
                {
                    ["steps"] = sampler.Steps.ToString(CultureInfo.InvariantCulture),
                    ["guidance"] = (givenGuidance ?? transformer.DefaultGuidance).ToString(CultureInfo.InvariantCulture),
                    ["ras"] = RasFlags.Describe(rasOptions, sampler.Steps),
                    ["latents"] = origin,
                };
                SafetensorsWriter.Write(outPath, new Dictionary<string, Tensor> { ["latents"] = written }, metadata);
            }

            WriteSummary(context.Out, session, clock.Elapsed, outPath);
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>The Lumina pipeline constants from the flags, and the first Lumina-only flag given (null if none).</summary>
    private (LuminaSamplingOptions Options, string? GivenFlag) LuminaOptions(ParseResult result)
    {
        var options = new LuminaSamplingOptions();
        string? given = null;
        if (result.GetValue(scalingWatershed) is double watershed)
        {
            options = options with { ScalingWatershed = watershed };
            given = "scaling-watershed";
        }

        if (result.GetValue(proportionalAttn) is string proportional)
        {
            options = options with
            {
                ProportionalAttention = proportional switch
                {
                    "true" => true,
                    "false" => false,
                    _ => throw new OptionsException("proportional-attn", $"'{proportional}' is not true or false"),
                },
            };
            given ??= "proportional-attn";
        }

        options.Validate();
        return (options, given);
    }

    private (Tensor Latents, Func<Tensor, Tensor> ToInputLayout, string Origin) InitialLatents(ParseResult result, ConditioningInputs inputs,
        DenoisingTransformer transformer, Device device)
    {
        if (transformer.ReadLatents(inputs, device) is var (given, toInputLayout))
        {
            return (given, toInputLayout, $"from {inputs.Origin}");
        }

        int patch = transformer.PatchSize;
        int pixelsPerLatent = 8;
        int multiple = pixelsPerLatent * patch;
        int w = result.GetValue(width) ?? transformer.SampleSize * pixelsPerLatent;
        int h = result.GetValue(height) ?? transformer.SampleSize * pixelsPerLatent;
        if (w <= 0 || w % multiple != 0)
        {
            throw new OptionsException("width", $"must be a positive multiple of {multiple} (VAE factor 8 × patch {patch}), found {w}");
        }

        if (h <= 0 || h % multiple != 0)
        {
            throw new OptionsException("height", $"must be a positive multiple of {multiple} (VAE factor 8 × patch {patch}), found {h}");
        }

        transformer.CheckLatentSize(h / pixelsPerLatent, w / pixelsPerLatent, h > w ? "height" : "width");
        long s = result.GetValue(seed) ?? InitialNoise.NewSeed();
        Tensor drawn = InitialNoise.Draw([inputs.BatchOf("prompt_embeds"), transformer.LatentChannels, h / pixelsPerLatent, w / pixelsPerLatent], s, device);
        return (drawn, final => final.alias(), $"seed {s} ({w}×{h} px)");
    }

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

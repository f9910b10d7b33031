using System.Globalization;
using Ras.Errors;
using Ras.Models.Flux;
using Ras.Sampling;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Pipelines.Flux;

/// <summary>
/// A <see cref="FluxTransformer2DModel"/> driven on its own: T5 and pooled CLIP embeddings, embedded guidance (dev) or none
/// (schnell), optional true CFG; latents may come packed <c>[B, N, 64]</c> with <c>img_ids</c> (as <c>FluxPipeline</c> passes
/// them) and go back the same way.
/// </summary>
internal sealed class FluxDenoisingTransformer(FluxTransformer2DModel transformer) : DenoisingTransformer
{
    private FluxTransformerConfig Config => transformer.Config;

    private bool IsDev => Config.GuidanceEmbeds;

    public override ModelFamily Family => FluxFamily.Instance;

    public override string Summary => string.Create(CultureInfo.InvariantCulture,
        $"FluxTransformer2DModel, {Config.NumLayers} double-stream + {Config.NumSingleLayers} single-stream blocks, {Config.NumAttentionHeads}×{Config.AttentionHeadDim} heads, " +
        $"RoPE axes [{string.Join(",", Config.AxesDimsRope)}], {(IsDev ? "guidance embedding (dev)" : "no guidance embedding (schnell)")}");

    public override IReadOnlyDictionary<string, object> ConfigFacts => new Dictionary<string, object>
    {
        ["layers"] = Config.NumLayers, ["single_layers"] = Config.NumSingleLayers, ["hidden"] = Config.InnerDim, ["heads"] = Config.NumAttentionHeads,
        ["guidance_embeds"] = Config.GuidanceEmbeds,
    };

    public override int PatchSize => FluxLatents.PatchEdge;

    public override int LatentChannels => Config.InChannels / (FluxLatents.PatchEdge * FluxLatents.PatchEdge);

    /// <summary>diffusers' <c>FluxPipeline.default_sample_size</c> (128 latents = 1024 px).</summary>
    public override int SampleSize => FluxPipeline.DefaultSampleSize;

    public override int? MaxLatentSize => null;

    public override int DefaultSteps => IsDev ? FluxPipeline.DevSteps : FluxPipeline.SchnellSteps;

    public override double DefaultGuidance => IsDev ? FluxPipeline.DevGuidance : 0.0;

    public override GuidanceKind GuidanceKind => IsDev ? GuidanceKind.Embedded : GuidanceKind.None;

    public override int DefaultTextTokens => IsDev ? FluxPipeline.DevMaxSequenceLength : FluxPipeline.SchnellMaxSequenceLength;

    public override FlowMatchEulerDiscreteSchedulerConfig StandardScheduler => FluxSchedule.StandardConfig(IsDev);

    public override string InputsDescription => "prompt_embeds [B,L,joint_attention_dim] (T5), pooled_prompt_embeds [B,pooled_projection_dim] (CLIP) and, with true CFG, negative_prompt_embeds, negative_pooled_prompt_embeds; latents packed [B,N,64] with img_ids [N,3], or [B,16,H,W]";

    /// <summary>FLUX.1-dev's widths (hidden 3072, 24 heads × 128, RoPE axes 16/56/56, joint dim 4096, pooled 768) with the given depth and random weights.</summary>
    public static FluxDenoisingTransformer Synthetic(int layers, int singleLayers, Device device)
    {
        var built = new FluxTransformer2DModel(new FluxTransformerConfig { NumLayers = layers, NumSingleLayers = singleLayers, GuidanceEmbeds = true });
        built.eval();
        return new FluxDenoisingTransformer(device.type == DeviceType.CPU ? built : built.to(device));
    }

    /// <summary><c>linspace(1, 1/n, n)</c> sigmas, with μ from the token count when the scheduler shifts dynamically (dev).</summary>
    public override FlowMatchSchedule Schedule(FlowMatchEulerDiscreteScheduler scheduler, int steps, long imageTokens)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return FluxSchedule.For(scheduler, steps, imageTokens);
    }

    public override (IDenoiser Denoiser, IDisposable Conditioning) Bind(ConditioningInputs inputs, int batch, Guidance guidance, Device device)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var scope = NewDisposeScope();
        Tensor prompt = inputs.Require("prompt_embeds", ScalarType.Float32, device);
        Tensor pooled = inputs.Require("pooled_prompt_embeds", ScalarType.Float32, device);
        Tensor? negative = guidance.UsesCfg ? inputs.Require("negative_prompt_embeds", ScalarType.Float32, device) : null;
        Tensor? negativePooled = guidance.UsesCfg ? inputs.Require("negative_pooled_prompt_embeds", ScalarType.Float32, device) : null;
        var conditioning = FluxConditioning.Create(prompt, pooled, negative, negativePooled, batch, guidance.UsesCfg, IsDev ? guidance.Embedded : null);
        try
        {
            return (new FluxDenoiser(transformer, conditioning), conditioning);
        }
        catch
        {
            conditioning.Dispose();
            throw;
        }
    }

    public override Dictionary<string, Tensor> RandomConditioning(int batch, int textTokens, bool negative, Device device)
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["prompt_embeds"] = randn([batch, textTokens, Config.JointAttentionDim], device: device),
            ["pooled_prompt_embeds"] = randn([batch, Config.PooledProjectionDim], device: device),
        };
        if (negative)
        {
            tensors["negative_prompt_embeds"] = randn([batch, textTokens, Config.JointAttentionDim], device: device);
            tensors["negative_pooled_prompt_embeds"] = randn([batch, Config.PooledProjectionDim], device: device);
        }

        return tensors;
    }

    public override double Flops(long batch, long imageTokens, long computedTokens, long textTokens) =>
        FluxFlopCount.Forward(Config, batch, imageTokens, computedTokens, textTokens);

    /// <summary>Packed <c>[B, N, 64]</c> latents with <c>img_ids</c> (the packed grid is read from them), or unpacked <c>[B, 16, H, W]</c>.</summary>
    public override (Tensor Latents, Func<Tensor, Tensor> ToInputLayout)? ReadLatents(ConditioningInputs inputs, Device device)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!inputs.Contains("latents") || inputs.ShapeOf("latents").Length != 3)
        {
            return base.ReadLatents(inputs, device);
        }

        using Tensor packed = inputs.Require("latents", ScalarType.Float32, device);
        if (packed.shape[2] != Config.InChannels)
        {
            throw new SafetensorsException(inputs.Origin, "latents", $"packed shape [{string.Join(", ", packed.shape)}] must be [B, N, {Config.InChannels}]");
        }

        if (!inputs.Contains("img_ids"))
        {
            throw new SafetensorsException(inputs.Origin, "img_ids", "packed latents [B, N, 64] need img_ids [N, 3] to give the packed grid");
        }

        (long rows, long cols) = PackedGrid(inputs, packed.shape[1]);
        Tensor unpacked = FluxLatents.Unpack(packed, rows * FluxLatents.PatchEdge, cols * FluxLatents.PatchEdge);
        return (unpacked, FluxLatents.Pack);
    }

    protected override Ras.Models.Common.IStreamedBlocks Blocks => transformer;

    internal override string ConfigJson => Config.ToJson();

    internal override nn.Module Module => transformer;

    protected override void Dispose(bool disposing) => transformer.Dispose();

    /// <summary>The packed grid of <c>img_ids</c> <c>(0, row, col)</c>: it must be the row-major grid of N tokens.</summary>
    private static (long Rows, long Cols) PackedGrid(ConditioningInputs inputs, long tokens)
    {
        using Tensor ids = inputs.Require("img_ids", ScalarType.Float32, CPU);
        if (ids.dim() != 2 || ids.shape[0] != tokens || ids.shape[1] != 3)
        {
            throw new SafetensorsException(inputs.Origin, "img_ids", $"shape [{string.Join(", ", ids.shape)}] must be [{tokens}, 3] (one id per packed token)");
        }

        using Tensor rowIds = ids.select(1, 1);
        using Tensor colIds = ids.select(1, 2);
        long rows = (long)rowIds.max().item<float>() + 1;
        long cols = (long)colIds.max().item<float>() + 1;
        bool grid = rows * cols == tokens;
        if (grid)
        {
            using Tensor expected = FluxLatents.ImageIds(rows, cols);
            using Tensor same = expected.eq(ids);
            grid = same.all().item<bool>();
        }

        if (!grid)
        {
            throw new SafetensorsException(inputs.Origin, "img_ids", $"is not the row-major (0, row, col) grid of {tokens} packed tokens (FluxPipeline's _prepare_latent_image_ids)");
        }

        return (rows, cols);
    }
}

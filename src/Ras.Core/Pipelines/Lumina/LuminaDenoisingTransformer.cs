using System.Globalization;
using Ras.Models.Lumina;
using Ras.Sampling;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Pipelines.Lumina;

/// <summary>
/// A <see cref="LuminaNextDiT2DModel"/> driven on its own: caption features with their masks (no pooled embeddings), CFG, and the
/// pipeline constants <c>scaling_watershed</c> / <c>proportional_attn</c>.
/// </summary>
internal sealed class LuminaDenoisingTransformer(LuminaNextDiT2DModel transformer, LuminaSamplingOptions options) : DenoisingTransformer
{
    private LuminaNextDiT2DModelConfig Config => transformer.Config;

    public override ModelFamily Family => LuminaFamily.Instance;

    public override string Summary => string.Create(CultureInfo.InvariantCulture,
        $"LuminaNextDiT2DModel, {Config.NumLayers} layers, {Config.NumAttentionHeads}×{Config.HeadDim} heads ({Config.KvHeads} kv), patch {Config.PatchSize}, caption dim {Config.CrossAttentionDim}; scaling-watershed {options.ScalingWatershed}, proportional-attn {(options.ProportionalAttention ? "true" : "false")}");

    public override IReadOnlyDictionary<string, object> ConfigFacts => new Dictionary<string, object>
    {
        ["layers"] = Config.NumLayers, ["hidden"] = Config.HiddenSize, ["heads"] = Config.NumAttentionHeads, ["kv_heads"] = Config.KvHeads,
        ["caption_dim"] = Config.CrossAttentionDim,
    };

    public override int PatchSize => Config.PatchSize;

    public override int LatentChannels => Config.InChannels;

    public override int SampleSize => Config.SampleSize;

    /// <summary>Our RoPE table covers any grid (only the pipeline keeps diffusers' 384-token limit).</summary>
    public override int? MaxLatentSize => null;

    public override int DefaultSteps => LuminaText2ImgPipeline.DefaultSteps;

    public override double DefaultGuidance => LuminaText2ImgPipeline.DefaultGuidance;

    public override GuidanceKind GuidanceKind => GuidanceKind.ClassifierFree;

    /// <summary>Gemma's caption cap.</summary>
    public override int DefaultTextTokens => 256;

    public override FlowMatchEulerDiscreteSchedulerConfig StandardScheduler { get; } = new() { Shift = 1.0 };

    public override string InputsDescription => "prompt_embeds, prompt_attention_mask (int64) and, with CFG, negative_prompt_embeds, negative_prompt_attention_mask";

    /// <summary>
    /// Lumina-Next-SFT's widths (hidden 2304, 32 heads, 8 KV heads, caption dim 2048, patch 2, 4 channels, trained at 1024²)
    /// with <paramref name="layers"/> blocks and random weights.
    /// </summary>
    public static LuminaDenoisingTransformer Synthetic(int layers, Device device)
    {
        var config = new LuminaNextDiT2DModelConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 4, HiddenSize = 2304, NumLayers = layers, NumAttentionHeads = 32, NumKvHeads = 8,
            MultipleOf = 256, CrossAttentionDim = 2048, QkNorm = true, LearnSigma = true,
        };
        var built = new LuminaNextDiT2DModel(config);
        built.eval();
        return new LuminaDenoisingTransformer(device.type == DeviceType.CPU ? built : built.to(device), new LuminaSamplingOptions());
    }

    public override (IDenoiser Denoiser, IDisposable Conditioning) Bind(ConditioningInputs inputs, int batch, Guidance guidance, Device device)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var scope = NewDisposeScope();
        Tensor prompt = inputs.Require("prompt_embeds", ScalarType.Float32, device);
        Tensor mask = inputs.Require("prompt_attention_mask", ScalarType.Int64, device);
        Tensor? negative = guidance.UsesCfg ? inputs.Require("negative_prompt_embeds", ScalarType.Float32, device) : null;
        Tensor? negativeMask = guidance.UsesCfg ? inputs.Require("negative_prompt_attention_mask", ScalarType.Int64, device) : null;
        var conditioning = LuminaConditioning.Create(prompt, mask, negative, negativeMask, batch, guidance.UsesCfg);
        try
        {
            return (new LuminaDenoiser(transformer, conditioning, options), conditioning);
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
            ["prompt_embeds"] = randn([batch, textTokens, Config.CrossAttentionDim], device: device),
            ["prompt_attention_mask"] = ones([batch, textTokens], ScalarType.Int64, device),
        };
        if (negative)
        {
            tensors["negative_prompt_embeds"] = randn([batch, textTokens, Config.CrossAttentionDim], device: device);
            tensors["negative_prompt_attention_mask"] = ones([batch, textTokens], ScalarType.Int64, device);
        }

        return tensors;
    }

    public override double Flops(long batch, long imageTokens, long computedTokens, long textTokens) =>
        LuminaFlopCount.Forward(Config, batch, imageTokens, computedTokens, textTokens);

    protected override Ras.Models.Common.IStreamedBlocks Blocks => transformer;

    internal override string ConfigJson => Config.ToJson();

    internal override nn.Module Module => transformer;

    protected override void Dispose(bool disposing) => transformer.Dispose();
}

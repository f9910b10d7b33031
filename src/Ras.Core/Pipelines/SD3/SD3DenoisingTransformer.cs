using System.Globalization;
using Ras.Models.SD3;
using Ras.Sampling;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Pipelines.SD3;

/// <summary>An <see cref="SD3Transformer2DModel"/> driven on its own: token and pooled prompt embeddings, CFG.</summary>
internal sealed class SD3DenoisingTransformer(SD3Transformer2DModel transformer) : DenoisingTransformer
{
    private SD3TransformerConfig Config => transformer.Config;

    public override ModelFamily Family => SD3Family.Instance;

    public override string Summary => string.Create(CultureInfo.InvariantCulture,
        $"SD3Transformer2DModel, {Config.NumLayers} layers, {Config.NumAttentionHeads}×{Config.AttentionHeadDim} heads, patch {Config.PatchSize}, qk_norm {Config.QkNorm}, {Config.DualAttentionLayers.Count} dual-attention layers");

    public override IReadOnlyDictionary<string, object> ConfigFacts => new Dictionary<string, object>
    {
        ["layers"] = Config.NumLayers, ["hidden"] = Config.InnerDim, ["heads"] = Config.NumAttentionHeads,
    };

    public override int PatchSize => Config.PatchSize;

    public override int LatentChannels => Config.InChannels;

    public override int SampleSize => Config.SampleSize;

    public override int? MaxLatentSize => Config.PosEmbedMaxSize * Config.PatchSize;

    public override int DefaultSteps => StableDiffusion3Pipeline.DefaultSteps;

    public override double DefaultGuidance => StableDiffusion3Pipeline.DefaultGuidance;

    public override GuidanceKind GuidanceKind => GuidanceKind.ClassifierFree;

    /// <summary>77 CLIP tokens + 256 T5 tokens.</summary>
    public override int DefaultTextTokens => 77 + StableDiffusion3Pipeline.DefaultMaxSequenceLength;

    public override FlowMatchEulerDiscreteSchedulerConfig StandardScheduler { get; } = new() { Shift = 3.0 };

    public override string InputsDescription => "prompt_embeds, pooled_prompt_embeds and, with CFG, negative_prompt_embeds, negative_pooled_prompt_embeds";

    /// <summary>SD3-medium's widths with <paramref name="layers"/> blocks and random weights.</summary>
    public static SD3DenoisingTransformer Synthetic(int layers, Device device)
    {
        var config = new SD3TransformerConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 16, OutChannels = 16, NumLayers = layers, AttentionHeadDim = 64,
            NumAttentionHeads = 24, JointAttentionDim = 4096, CaptionProjectionDim = 1536, PooledProjectionDim = 2048, PosEmbedMaxSize = 192,
        };
        var built = new SD3Transformer2DModel(config);
        built.eval();
        return new SD3DenoisingTransformer(device.type == DeviceType.CPU ? built : built.to(device));
    }

    public override (IDenoiser Denoiser, IDisposable Conditioning) Bind(ConditioningInputs inputs, int batch, Guidance guidance, Device device)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var scope = NewDisposeScope();
        Tensor prompt = inputs.Require("prompt_embeds", ScalarType.Float32, device);
        Tensor pooled = inputs.Require("pooled_prompt_embeds", ScalarType.Float32, device);
        Tensor? negative = guidance.UsesCfg ? inputs.Require("negative_prompt_embeds", ScalarType.Float32, device) : null;
        Tensor? negativePooled = guidance.UsesCfg ? inputs.Require("negative_pooled_prompt_embeds", ScalarType.Float32, device) : null;
        var conditioning = SD3Conditioning.Create(prompt, pooled, negative, negativePooled, batch, guidance.UsesCfg);
        return (new SD3Denoiser(transformer, conditioning), conditioning);
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
        SD3FlopCount.Forward(Config, batch, imageTokens, computedTokens, textTokens);

    protected override Ras.Models.Common.IStreamedBlocks Blocks => transformer;

    internal override string ConfigJson => Config.ToJson();

    internal override nn.Module Module => transformer;

    protected override void Dispose(bool disposing) => transformer.Dispose();
}

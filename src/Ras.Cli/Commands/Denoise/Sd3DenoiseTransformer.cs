using Ras.IO.Safetensors;
using Ras.Models.SD3;
using Ras.Pipelines.SD3;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Cli.Commands.Denoise;

/// <summary><c>ras denoise</c> for <see cref="SD3Transformer2DModel"/>: token and pooled prompt embeddings.</summary>
internal sealed class Sd3DenoiseTransformer(SD3Transformer2DModel transformer) : DenoiseTransformer
{
    private SD3TransformerConfig Config => transformer.Config;

    public override string Summary =>
        $"SD3Transformer2DModel, {Config.NumLayers} layers, {Config.NumAttentionHeads}×{Config.AttentionHeadDim} heads, patch {Config.PatchSize}, qk_norm {Config.QkNorm}, {Config.DualAttentionLayers.Count} dual-attention layers";

    public override int PatchSize => Config.PatchSize;

    public override int InChannels => Config.InChannels;

    public override int SampleSize => Config.SampleSize;

    public override int DefaultSteps => 28;

    public override double DefaultGuidance => 7.0;

    public override string InputsDescription => "prompt_embeds, pooled_prompt_embeds and, with CFG, negative_prompt_embeds, negative_pooled_prompt_embeds";

    public override (IDenoiser Denoiser, IDisposable Conditioning) Bind(SafetensorsFile inputs, int batch, bool guidance, Device device)
    {
        Tensor prompt = Require(inputs, "prompt_embeds", ScalarType.Float32, device);
        Tensor pooled = Require(inputs, "pooled_prompt_embeds", ScalarType.Float32, device);
        Tensor? negative = guidance ? Require(inputs, "negative_prompt_embeds", ScalarType.Float32, device) : null;
        Tensor? negativePooled = guidance ? Require(inputs, "negative_pooled_prompt_embeds", ScalarType.Float32, device) : null;
        var conditioning = SD3Conditioning.Create(prompt, pooled, negative, negativePooled, batch, guidance);
        return (new SD3Denoiser(transformer, conditioning), conditioning);
    }

    public override void Dispose() => transformer.Dispose();
}

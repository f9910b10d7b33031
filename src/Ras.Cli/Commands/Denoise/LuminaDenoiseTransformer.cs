using System.Globalization;
using Ras.IO.Safetensors;
using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Cli.Commands.Denoise;

/// <summary>
/// <c>ras denoise</c> for <see cref="LuminaNextDiT2DModel"/>: caption features with their masks (no pooled embeddings) and
/// the pipeline constants <c>scaling_watershed</c> / <c>proportional_attn</c> from the command line.
/// </summary>
internal sealed class LuminaDenoiseTransformer(LuminaNextDiT2DModel transformer, LuminaSamplingOptions options) : DenoiseTransformer
{
    private LuminaNextDiT2DModelConfig Config => transformer.Config;

    public override string Summary => string.Create(CultureInfo.InvariantCulture,
        $"LuminaNextDiT2DModel, {Config.NumLayers} layers, {Config.NumAttentionHeads}×{Config.HeadDim} heads ({Config.KvHeads} kv), patch {Config.PatchSize}, caption dim {Config.CrossAttentionDim}; scaling-watershed {options.ScalingWatershed}, proportional-attn {(options.ProportionalAttention ? "true" : "false")}");

    public override int PatchSize => Config.PatchSize;

    public override int InChannels => Config.InChannels;

    public override int SampleSize => Config.SampleSize;

    public override int DefaultSteps => LuminaText2ImgPipeline.DefaultSteps;

    public override double DefaultGuidance => LuminaText2ImgPipeline.DefaultGuidance;

    public override string InputsDescription => "prompt_embeds, prompt_attention_mask (int64) and, with CFG, negative_prompt_embeds, negative_prompt_attention_mask";

    public override (IDenoiser Denoiser, IDisposable Conditioning) Bind(SafetensorsFile inputs, int batch, bool guidance, Device device)
    {
        Tensor prompt = Require(inputs, "prompt_embeds", ScalarType.Float32, device);
        Tensor mask = Require(inputs, "prompt_attention_mask", ScalarType.Int64, device);
        Tensor? negative = guidance ? Require(inputs, "negative_prompt_embeds", ScalarType.Float32, device) : null;
        Tensor? negativeMask = guidance ? Require(inputs, "negative_prompt_attention_mask", ScalarType.Int64, device) : null;
        var conditioning = LuminaConditioning.Create(prompt, mask, negative, negativeMask, batch, guidance);
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

    public override void Dispose() => transformer.Dispose();
}

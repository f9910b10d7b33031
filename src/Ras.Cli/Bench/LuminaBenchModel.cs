using Ras.Models.Common;
using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Cli.Bench;

/// <summary>
/// <c>ras bench</c> for <see cref="LuminaNextDiT2DModel"/>: Gemma-width caption features with an all-valid mask; forwards go
/// through <see cref="LuminaDenoiser"/>, so RoPE scaling and proportional attention are those of sampling at that size.
/// </summary>
internal sealed class LuminaBenchModel(LuminaNextDiT2DModel transformer) : BenchModel
{
    private LuminaConditioning? forwardConditioning;   // bound to the inputs of the last forward (the bench uses one set)
    private LuminaDenoiser? forwardDenoiser;
    private Tensor? boundText;

    private LuminaNextDiT2DModelConfig Config => transformer.Config;

    public override string Summary => $"{Config.NumLayers} layers, hidden {Config.HiddenSize}, {Config.NumAttentionHeads} heads ({Config.KvHeads} kv)";

    public override IReadOnlyDictionary<string, object> ConfigFacts => new Dictionary<string, object>
    {
        ["layers"] = Config.NumLayers, ["hidden"] = Config.HiddenSize, ["heads"] = Config.NumAttentionHeads, ["kv_heads"] = Config.KvHeads,
        ["caption_dim"] = Config.CrossAttentionDim,
    };

    public override int PatchSize => Config.PatchSize;

    public override int InChannels => Config.InChannels;

    public override int DefaultTextTokens => 256;

    public override (double Guidance, double Shift) LoopSettings => (4.0, 1.0);

    /// <summary>
    /// Lumina-Next-SFT's widths (hidden 2304, 32 heads, 8 KV heads, caption dim 2048, patch 2, 4 channels, trained at 1024²)
    /// with <paramref name="layers"/> blocks and random weights.
    /// </summary>
    public static LuminaBenchModel Synthetic(int layers, Device device)
    {
        var config = new LuminaNextDiT2DModelConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 4, HiddenSize = 2304, NumLayers = layers, NumAttentionHeads = 32, NumKvHeads = 8,
            MultipleOf = 256, CrossAttentionDim = 2048, QkNorm = true, LearnSigma = true,
        };
        var built = new LuminaNextDiT2DModel(config);
        built.eval();
        return new LuminaBenchModel(device.type == DeviceType.CPU ? built : built.to(device));
    }

    public override BenchInputs RandomInputs(BenchSetup setup, Device device) => new(
        setup.RandomLatents(device),
        randn([setup.Batch, setup.TextTokens, Config.CrossAttentionDim], device: device),
        ones([setup.Batch, setup.TextTokens], ScalarType.Int64, device),
        full([setup.Batch], 0.5f, ScalarType.Float32, device));

    public override Tensor Forward(BenchInputs inputs, ITokenRouting? routing)
    {
        if (forwardDenoiser is null || !ReferenceEquals(boundText, inputs.Text))
        {
            forwardConditioning?.Dispose();
            boundText = inputs.Text;
            forwardConditioning = LuminaConditioning.Create(inputs.Text, inputs.Extra, null, null, (int)inputs.Text.shape[0], guidance: false);
            forwardDenoiser = new LuminaDenoiser(transformer, forwardConditioning);
        }

        return forwardDenoiser.Predict(inputs.Latents, inputs.Timesteps, routing);
    }

    public override double Flops(long batch, long imageTokens, long computedTokens, long textTokens) =>
        LuminaFlopCount.Forward(Config, batch, imageTokens, computedTokens, textTokens);

    public override (IDenoiser Denoiser, IDisposable Conditioning) LoopDenoiser(BenchInputs inputs, int images)
    {
        var conditioning = LuminaConditioning.Create(inputs.Text.narrow(0, 0, images), inputs.Extra.narrow(0, 0, images),
            inputs.Text.narrow(0, images, images), inputs.Extra.narrow(0, images, images), images, guidance: true);
        return (new LuminaDenoiser(transformer, conditioning), conditioning);
    }

    public override void Dispose()
    {
        forwardConditioning?.Dispose();
        transformer.Dispose();
    }
}

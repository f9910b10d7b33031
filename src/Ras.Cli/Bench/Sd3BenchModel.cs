using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Pipelines.SD3;
using Ras.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Cli.Bench;

/// <summary><c>ras bench</c> for <see cref="SD3Transformer2DModel"/> (T5 + CLIP text tokens and pooled embeddings).</summary>
internal sealed class Sd3BenchModel(SD3Transformer2DModel transformer) : BenchModel
{
    private SD3TransformerConfig Config => transformer.Config;

    public override string Summary => $"{Config.NumLayers} layers, hidden {Config.InnerDim}, {Config.NumAttentionHeads} heads";

    public override IReadOnlyDictionary<string, object> ConfigFacts => new Dictionary<string, object>
    {
        ["layers"] = Config.NumLayers, ["hidden"] = Config.InnerDim, ["heads"] = Config.NumAttentionHeads,
    };

    public override int PatchSize => Config.PatchSize;

    public override int InChannels => Config.InChannels;

    public override int DefaultTextTokens => 333;

    public override (double Guidance, double Shift) LoopSettings => (7.0, 3.0);

    /// <summary>SD3-medium's widths with <paramref name="layers"/> blocks and random weights.</summary>
    public static Sd3BenchModel Synthetic(int layers, Device device)
    {
        var config = new SD3TransformerConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 16, OutChannels = 16, NumLayers = layers, AttentionHeadDim = 64,
            NumAttentionHeads = 24, JointAttentionDim = 4096, CaptionProjectionDim = 1536, PooledProjectionDim = 2048, PosEmbedMaxSize = 192,
        };
        var built = new SD3Transformer2DModel(config);
        built.eval();
        return new Sd3BenchModel(device.type == DeviceType.CPU ? built : built.to(device));
    }

    public override BenchInputs RandomInputs(BenchSetup setup, Device device) => new(
        setup.RandomLatents(device),
        randn([setup.Batch, setup.TextTokens, Config.JointAttentionDim], device: device),
        randn([setup.Batch, Config.PooledProjectionDim], device: device),
        full([setup.Batch], 500f, ScalarType.Float32, device));

    public override Tensor Forward(BenchInputs inputs, ITokenRouting? routing) =>
        transformer.Forward(inputs.Latents, inputs.Text, inputs.Extra, inputs.Timesteps, routing);

    public override double Flops(long batch, long imageTokens, long computedTokens, long textTokens) =>
        SD3FlopCount.Forward(Config, batch, imageTokens, computedTokens, textTokens);

    public override (IDenoiser Denoiser, IDisposable Conditioning) LoopDenoiser(BenchInputs inputs, int images)
    {
        var conditioning = SD3Conditioning.Create(inputs.Text.narrow(0, 0, images), inputs.Extra.narrow(0, 0, images),
            inputs.Text.narrow(0, images, images), inputs.Extra.narrow(0, images, images), images, guidance: true);
        return (new SD3Denoiser(transformer, conditioning), conditioning);
    }

    public override void Dispose() => transformer.Dispose();
}

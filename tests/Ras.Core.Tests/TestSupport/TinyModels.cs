using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>Small random-weight SD3 models and inputs for invariant tests (seconds on CPU).</summary>
public static class TinyModels
{
    public static SD3TransformerConfig Config(int patch = 2, int layers = 2, QkNorm qkNorm = QkNorm.None, int[]? dual = null) => new()
    {
        SampleSize = 16, PatchSize = patch, InChannels = 4, OutChannels = 4, NumLayers = layers, AttentionHeadDim = 8,
        NumAttentionHeads = 2, JointAttentionDim = 12, CaptionProjectionDim = 16, PooledProjectionDim = 10,
        PosEmbedMaxSize = 32, DualAttentionLayers = dual ?? [], QkNorm = qkNorm,
    };

    public static SD3Transformer2DModel Model(SD3TransformerConfig config, int seed = 1)
    {
        manual_seed(seed);
        var model = new SD3Transformer2DModel(config);
        model.eval();

        // Random biases and adaLN weights so no path is trivially zero.
        using var noGrad = no_grad();
        foreach (var (_, parameter) in model.named_parameters())
        {
            parameter.add_(randn_like(parameter).mul(0.05));
        }

        return model;
    }

    /// <summary>Prompt embeddings for <paramref name="batch"/> images (and negatives), deterministic by seed.</summary>
    public static SD3Conditioning Conditioning(SD3TransformerConfig config, int batch, bool guidance, int seed = 7, int textTokens = 5)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        Tensor text = randn([batch, textTokens, config.JointAttentionDim], generator: generator);
        Tensor pooled = randn([batch, config.PooledProjectionDim], generator: generator);
        Tensor negText = randn([batch, textTokens, config.JointAttentionDim], generator: generator);
        Tensor negPooled = randn([batch, config.PooledProjectionDim], generator: generator);
        return SD3Conditioning.Create(text, pooled, guidance ? negText : null, guidance ? negPooled : null, batch, guidance);
    }

    public static Tensor Latents(SD3TransformerConfig config, int batch, int height, int width, int seed = 3) =>
        InitialNoise.Draw([batch, config.InChannels, height, width], seed);
}

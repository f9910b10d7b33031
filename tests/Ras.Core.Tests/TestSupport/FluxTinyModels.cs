using Ras.Models.Flux;
using Ras.Pipelines.Flux;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>Small random-weight FLUX.1 models and inputs (seconds on CPU), deterministic without the process-wide generator.</summary>
public static class FluxTinyModels
{
    public static FluxTransformerConfig Config(bool guidance = true, int layers = 2, int singleLayers = 2) => new()
    {
        InChannels = 16, OutChannels = 16, NumLayers = layers, NumSingleLayers = singleLayers, AttentionHeadDim = 8, NumAttentionHeads = 2,
        JointAttentionDim = 12, PooledProjectionDim = 10, GuidanceEmbeds = guidance, AxesDimsRope = [2, 2, 4],
    };

    /// <summary>
    /// A model whose every tensor is drawn from its own generator (so parallel tests cannot disturb it): weights
    /// ~ N(0, 1/fan_in), biases ~ N(0, 0.1²), norm weights 1 + N(0, 0.1²); nothing is 0 or 1, every path matters.
    /// </summary>
    public static FluxTransformer2DModel Model(FluxTransformerConfig config, int seed = 1)
    {
        var model = new FluxTransformer2DModel(config);
        model.eval();
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed);
        foreach (var (name, parameter) in model.named_parameters().OrderBy(p => p.name, StringComparer.Ordinal))
        {
            using Tensor noise = randn(parameter.shape, generator: generator);
            if (parameter.dim() == 2)
            {
                parameter.copy_(noise.mul(1.0 / Math.Sqrt(parameter.shape[1])));
            }
            else
            {
                using Tensor small = noise.mul(0.1);
                parameter.copy_(name.EndsWith("norm_q.weight", StringComparison.Ordinal) || name.Contains("norm_k", StringComparison.Ordinal)
                    || name.Contains("norm_added", StringComparison.Ordinal) ? small.add(1.0) : small);
            }
        }

        return model;
    }

    /// <summary>Prompt embeddings for <paramref name="batch"/> images (different per image), deterministic by seed.</summary>
    public static (Tensor Text, Tensor Pooled) Prompts(FluxTransformerConfig config, int batch, int seed = 7, int textTokens = 5)
    {
        using var generator = new Generator((ulong)seed);
        return (randn([batch, textTokens, config.JointAttentionDim], generator: generator), randn([batch, config.PooledProjectionDim], generator: generator));
    }

    /// <summary><see cref="Prompts"/> arranged for the sampler (embedded guidance 3.5 when the model has a guidance embedding).</summary>
    public static FluxConditioning Conditioning(FluxTransformerConfig config, int batch, int seed = 7, int textTokens = 5)
    {
        using var scope = NewDisposeScope();
        var (text, pooled) = Prompts(config, batch, seed, textTokens);
        return FluxConditioning.Create(text, pooled, null, null, batch, trueCfg: false, config.GuidanceEmbeds ? 3.5 : null);
    }

    /// <summary>Unpacked latents <c>[B, C, H, W]</c> with C = in_channels / 4.</summary>
    public static Tensor Latents(FluxTransformerConfig config, int batch, int height, int width, int seed = 3) =>
        InitialNoise.Draw([batch, config.InChannels / 4, height, width], seed);
}

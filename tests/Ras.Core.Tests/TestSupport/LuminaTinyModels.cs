using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>Small random-weight Lumina-Next models and captions for invariant tests (seconds on CPU).</summary>
public static class LuminaTinyModels
{
    public static LuminaNextDiT2DModelConfig Config(int patch = 2, int layers = 2, bool qkNorm = true, bool learnSigma = true) => new()
    {
        SampleSize = 8, PatchSize = patch, InChannels = 4, HiddenSize = 32, NumLayers = layers, NumAttentionHeads = 4,
        NumKvHeads = 2, MultipleOf = 16, CrossAttentionDim = 12, QkNorm = qkNorm, LearnSigma = learnSigma,
    };

    /// <summary>A model whose every weight is perturbed (the zero-initialised head gates strongly), so every path matters.</summary>
    public static LuminaNextDiT2DModel Model(LuminaNextDiT2DModelConfig config, int seed = 1)
    {
        manual_seed(seed);
        var model = new LuminaNextDiT2DModel(config);
        model.eval();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            double spread = name.EndsWith(".gate", StringComparison.Ordinal) ? 0.5 : 0.05;
            parameter.add_(randn_like(parameter).mul(spread));
        }

        return model;
    }

    /// <summary>
    /// Captions for <paramref name="batch"/> images (and negatives): the second and later images see fewer valid tokens,
    /// so masks matter. Deterministic by seed.
    /// </summary>
    public static LuminaConditioning Conditioning(LuminaNextDiT2DModelConfig config, int batch, bool guidance, int seed = 7, int tokens = 6)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        Tensor captions = randn([batch, tokens, config.CrossAttentionDim], generator: generator);
        Tensor negatives = randn([batch, tokens, config.CrossAttentionDim], generator: generator);
        Tensor masks = ones([batch, tokens], ScalarType.Int64);
        for (int b = 1; b < batch; b++)
        {
            masks[b].narrow(0, tokens - b, b).fill_(0);
        }

        Tensor negativeMasks = zeros([batch, tokens], ScalarType.Int64);
        negativeMasks.narrow(1, 0, 2).fill_(1);
        return LuminaConditioning.Create(captions, masks, guidance ? negatives : null, guidance ? negativeMasks : null, batch, guidance);
    }

    public static Tensor Latents(LuminaNextDiT2DModelConfig config, int batch, int height, int width, int seed = 3) =>
        InitialNoise.Draw([batch, config.InChannels, height, width], seed);
}

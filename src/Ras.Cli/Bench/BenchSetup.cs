using Ras.Errors;
using Ras.Models.SD3;
using static TorchSharp.torch;

namespace Ras.Cli.Bench;

/// <summary>Sizes of one benchmark input and how to draw random inputs and token choices for it.</summary>
internal sealed record BenchSetup(SD3TransformerConfig Config, int Height, int Width, int TextTokens, int Batch)
{
    public int LatentHeight => Height / 8;

    public int LatentWidth => Width / 8;

    public int ImageTokens => LatentHeight / Config.PatchSize * (LatentWidth / Config.PatchSize);

    public static BenchSetup Create(SD3TransformerConfig config, int height, int width, int textTokens, int batch)
    {
        int multiple = 8 * config.PatchSize;
        if (height <= 0 || height % multiple != 0)
        {
            throw new OptionsException("height", $"must be a positive multiple of {multiple}, found {height}");
        }

        if (width <= 0 || width % multiple != 0)
        {
            throw new OptionsException("width", $"must be a positive multiple of {multiple}, found {width}");
        }

        if (textTokens < 1)
        {
            throw new OptionsException("text-tokens", $"must be at least 1, found {textTokens}");
        }

        if (batch < 1)
        {
            throw new OptionsException("batch", $"must be at least 1, found {batch}");
        }

        return new BenchSetup(config, height, width, textTokens, batch);
    }

    /// <summary>Random latents, text, pooled embeddings and a mid-schedule timestep.</summary>
    public BenchInputs RandomInputs(Device device) => new(
        randn([Batch, Config.InChannels, LatentHeight, LatentWidth], device: device),
        randn([Batch, TextTokens, Config.JointAttentionDim], device: device),
        randn([Batch, Config.PooledProjectionDim], device: device),
        full([Batch], 500f, ScalarType.Float32, device));

    /// <summary><c>[Batch, active]</c> random token indices, ascending, the same for every sample (a CFG pair shares its regions).</summary>
    public Tensor RandomActiveTokens(int active, Device device)
    {
        using Tensor permutation = randperm(ImageTokens);
        using Tensor chosen = permutation.narrow(0, 0, active);
        (Tensor sorted, Tensor order) = chosen.sort();
        order.Dispose();
        using (sorted)
        {
            return sorted.unsqueeze(0).expand(Batch, active).contiguous().to(device);
        }
    }
}

/// <summary>The tensors one benchmark forward consumes.</summary>
internal sealed record BenchInputs(Tensor Latents, Tensor Text, Tensor Pooled, Tensor Timesteps) : IDisposable
{
    public void Dispose()
    {
        Latents.Dispose();
        Text.Dispose();
        Pooled.Dispose();
        Timesteps.Dispose();
    }
}

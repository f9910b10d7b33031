using Ras.Errors;
using static TorchSharp.torch;

namespace Ras.Cli.Bench;

/// <summary>Sizes of one benchmark input and how to draw random inputs and token choices for it.</summary>
internal sealed record BenchSetup(int PatchSize, int InChannels, int Height, int Width, int TextTokens, int Batch)
{
    public int LatentHeight => Height / 8;

    public int LatentWidth => Width / 8;

    public int ImageTokens => LatentHeight / PatchSize * (LatentWidth / PatchSize);

    public static BenchSetup Create(int patchSize, int inChannels, int height, int width, int textTokens, int batch)
    {
        int multiple = 8 * patchSize;
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

        return new BenchSetup(patchSize, inChannels, height, width, textTokens, batch);
    }

    /// <summary>Random latents <c>[Batch, C, H/8, W/8]</c>.</summary>
    public Tensor RandomLatents(Device device) => randn([Batch, InChannels, LatentHeight, LatentWidth], device: device);

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

/// <summary>
/// The tensors one benchmark forward consumes: latents, text features, the family's extra text input (SD3: pooled
/// embeddings <c>[B, P]</c>; Lumina: the caption mask <c>[B, L]</c>) and timesteps in the family's time.
/// </summary>
internal sealed record BenchInputs(Tensor Latents, Tensor Text, Tensor Extra, Tensor Timesteps) : IDisposable
{
    public void Dispose()
    {
        Latents.Dispose();
        Text.Dispose();
        Extra.Dispose();
        Timesteps.Dispose();
    }
}

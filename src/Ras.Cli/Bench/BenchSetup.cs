using Ras.Errors;
using Ras.Pipelines;
using Ras.Sampling;
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
/// One benchmark forward's inputs: random latents, random conditioning bound to the model without CFG (the batch is
/// independent samples), and a mid-schedule time in the family's convention.
/// </summary>
internal sealed class BenchInputs : IDisposable
{
    private readonly IDenoiser denoiser;
    private readonly IDisposable conditioning;
    private readonly Tensor latents;
    private readonly Tensor timesteps;

    public BenchInputs(DenoisingTransformer transformer, BenchSetup setup, Device device)
    {
        latents = setup.RandomLatents(device);
        Dictionary<string, Tensor> tensors = transformer.RandomConditioning(setup.Batch, setup.TextTokens, negative: false, device);
        try
        {
            // One pass per sample: a CFG model's guidance is off here, an embedded one keeps its default.
            double scale = transformer.GuidanceKind == GuidanceKind.ClassifierFree ? 1.0 : transformer.DefaultGuidance;
            (denoiser, conditioning) = transformer.Bind(ConditioningInputs.FromTensors(tensors, "random conditioning"), setup.Batch,
                Guidance.For(transformer.GuidanceKind, scale), device);
        }
        finally
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
        }

        timesteps = full([setup.Batch], denoiser.Convention.ModelTimestep(500f, 1000), ScalarType.Float32, device);
    }

    /// <summary>One forward (dense, or with <paramref name="routing"/> the RAS path); the output is left to the caller's scope.</summary>
    public Tensor Forward(Ras.Models.Common.ITokenRouting? routing) => denoiser.Predict(latents, timesteps, routing);

    public void Dispose()
    {
        conditioning.Dispose();
        latents.Dispose();
        timesteps.Dispose();
    }
}

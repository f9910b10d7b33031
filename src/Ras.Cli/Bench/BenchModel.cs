using Ras.Models.Common;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Cli.Bench;

/// <summary>A transformer family as <c>ras bench</c> drives it: random inputs, one forward, its FLOP count and a sampling-loop denoiser.</summary>
internal abstract class BenchModel : IDisposable
{
    /// <summary>One line for the report (layers, width, heads).</summary>
    public abstract string Summary { get; }

    /// <summary>Config values for the JSON report.</summary>
    public abstract IReadOnlyDictionary<string, object> ConfigFacts { get; }

    /// <summary>Latent pixels per token edge.</summary>
    public abstract int PatchSize { get; }

    /// <summary>Latent channels.</summary>
    public abstract int InChannels { get; }

    /// <summary>Text tokens when <c>--text-tokens</c> is not given (SD3 333 = 77 CLIP + 256 T5; Lumina 256).</summary>
    public abstract int DefaultTextTokens { get; }

    /// <summary>CFG scale and scheduler shift of the <c>--steps</c> loop (the family's pipeline defaults).</summary>
    public abstract (double Guidance, double Shift) LoopSettings { get; }

    /// <summary>Random inputs for <paramref name="setup"/>, a mid-schedule timestep.</summary>
    public abstract BenchInputs RandomInputs(BenchSetup setup, Device device);

    /// <summary>One forward (dense, or with <paramref name="routing"/> the RAS path); the output is left to the caller's scope.</summary>
    public abstract Tensor Forward(BenchInputs inputs, ITokenRouting? routing);

    /// <summary>Exact FLOPs of one forward computing <paramref name="computedTokens"/> of <paramref name="imageTokens"/>.</summary>
    public abstract double Flops(long batch, long imageTokens, long computedTokens, long textTokens);

    /// <summary>
    /// A guided denoiser over the first <paramref name="images"/> rows of <paramref name="inputs"/> (positive) and the next
    /// <paramref name="images"/> (negative); the returned owner frees its conditioning.
    /// </summary>
    public abstract (IDenoiser Denoiser, IDisposable Conditioning) LoopDenoiser(BenchInputs inputs, int images);

    /// <inheritdoc />
    public abstract void Dispose();
}

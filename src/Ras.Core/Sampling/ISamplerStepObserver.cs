using Ras.Models.Common;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>What an observer learns when a sampling run starts.</summary>
/// <param name="Schedule">The sigmas and timesteps of the run.</param>
/// <param name="LatentShape"><c>[B, C, H, W]</c> of the latents (B images, without guidance copies).</param>
/// <param name="PatchSize">Latent pixels per token edge.</param>
/// <param name="GuidanceCopies">Model-batch copies per image (2 with classifier-free guidance).</param>
/// <param name="Device">Where the latents live.</param>
public sealed record SamplingRun(FlowMatchSchedule Schedule, long[] LatentShape, int PatchSize, int GuidanceCopies, Device Device)
{
    /// <summary>Images in the batch.</summary>
    public int Batch => (int)LatentShape[0];

    /// <summary>Token grid rows.</summary>
    public int TokenRows => (int)(LatentShape[2] / PatchSize);

    /// <summary>Token grid columns.</summary>
    public int TokenCols => (int)(LatentShape[3] / PatchSize);

    /// <summary>Image tokens per image.</summary>
    public int TokenCount => TokenRows * TokenCols;
}

/// <summary>
/// Hook around each model call of a sampling run (RAS implements it). Tensors it keeps across steps
/// must be detached from the step's dispose scope and owned by the observer.
/// </summary>
public interface ISamplerStepObserver
{
    /// <summary>Called once before the first step.</summary>
    void OnStart(SamplingRun run);

    /// <summary>Returns the token routing for <paramref name="step"/>'s model call, or null for a dense call.</summary>
    ITokenRouting? BeforeModel(int step);

    /// <summary>
    /// Receives the guided velocity of <paramref name="step"/> and returns the velocity the Euler update
    /// uses (e.g. with cached tokens filled in); may return its argument.
    /// </summary>
    Tensor AfterModel(int step, Tensor velocity);

    /// <summary>Image tokens per image computed by the model at <paramref name="step"/> (for reports).</summary>
    int ComputedTokens(int step);
}

using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>
/// A diffusion transformer bound to its conditioning, as the sampler sees it: latents in, model output out.
/// With classifier-free guidance the model batch holds two copies of the B images, ordered as
/// <see cref="Convention"/> says.
/// </summary>
public interface IDenoiser
{
    /// <summary>Patch edge in latent pixels (a token covers p×p latent pixels).</summary>
    int PatchSize { get; }

    /// <summary>2 when the conditioning holds an unconditional and a conditional half, else 1.</summary>
    int GuidanceCopies { get; }

    /// <summary>How the model's time, batch order, guidance and velocity sign meet the sampler.</summary>
    SamplingConvention Convention { get; }

    /// <summary>
    /// <c>latents [B·copies, C, H, W]</c>, <c>timesteps [B·copies]</c> (already mapped by <see cref="Convention"/>) →
    /// model output <c>[B·copies, C', H, W]</c> whose first C channels are the velocity prediction.
    /// </summary>
    Tensor Predict(Tensor latents, Tensor timesteps, ITokenRouting? routing);
}

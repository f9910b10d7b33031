using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>
/// A diffusion transformer bound to its conditioning, as the sampler sees it: latents in, velocity out.
/// With classifier-free guidance the model batch is <c>[unconditional × B, conditional × B]</c>.
/// </summary>
public interface IDenoiser
{
    /// <summary>Patch edge in latent pixels (a token covers p×p latent pixels).</summary>
    int PatchSize { get; }

    /// <summary>2 when the conditioning holds an unconditional and a conditional half, else 1.</summary>
    int GuidanceCopies { get; }

    /// <summary><c>latents [B·copies, C, H, W]</c>, <c>timesteps [B·copies]</c> → velocity of the same shape.</summary>
    Tensor Predict(Tensor latents, Tensor timesteps, ITokenRouting? routing);
}

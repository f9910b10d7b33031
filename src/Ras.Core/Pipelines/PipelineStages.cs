using System.Diagnostics;
using Ras.Errors;
using Ras.IO.Images;
using Ras.Models.Vae;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>Pipeline stages every latent-diffusion family runs the same way: VAE decoding and the rough latent preview.</summary>
internal static class PipelineStages
{
    /// <summary>
    /// Decodes diffusion-space <paramref name="latents"/> <c>[B, C, h, w]</c> one image at a time (VAE activations at
    /// 1024² are large) to RGB bytes, reporting <see cref="GenerationStage.Decode"/> per image. The decoder gets
    /// <c>latents / scaling_factor</c>, plus <c>shift_factor</c> when <paramref name="shift"/> (SD3 does, Lumina does not).
    /// </summary>
    /// <exception cref="NonFiniteException">An image decodes to NaN or infinite values.</exception>
    public static List<byte[]> Decode(AutoencoderKL vae, Tensor latents, bool shift, IProgress<GenerationProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var images = new List<byte[]>();
        for (int b = 0; b < latents.shape[0]; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            Tensor one = latents.narrow(0, b, 1);
            Tensor decoded = vae.Decode(shift ? vae.Unscale(one) : one.div(vae.Config.ScalingFactor));
            if (!decoded.isfinite().all().item<bool>())
            {
                throw new NonFiniteException($"VAE decode of image {b}: the output contains NaN or infinite values");
            }

            images.Add(ImageTensors.ToRgbBytes(decoded[0]));
            progress?.Report(new GenerationProgress(GenerationStage.Decode, b + 1, (int)latents.shape[0], 0, 0, clock.Elapsed));
        }

        return images;
    }

    /// <summary>The first three latent channels of the first image, each stretched to 0–255 (a rough, cheap preview).</summary>
    public static LatentPreview RoughPreview(Tensor latents)
    {
        using var scope = NewDisposeScope();
        Tensor first = latents[0].narrow(0, 0, 3).to_type(ScalarType.Float32).cpu();
        Tensor low = first.amin([1, 2], keepdim: true);
        Tensor high = first.amax([1, 2], keepdim: true);
        Tensor scaled = first.sub(low).div(high.sub(low).clamp_min(1e-6f)).mul(2f).sub(1f);
        return new LatentPreview((int)first.shape[2], (int)first.shape[1], ImageTensors.ToRgbBytes(scaled));
    }
}

using Ras.IO.Safetensors;
using Ras.Models.Vae;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Vae;

/// <summary>AutoencoderKL cases under <c>&lt;fixtures&gt;/vae/</c>: decode, encode, posterior, scaling.</summary>
[Trait("Category", "Fixtures")]
public sealed class VaeFixtureTests(ITestOutputHelper output)
{
    [FixtureCases("vae", "vae")]
    public void Vae(string caseName)
    {
        using var fixture = FixtureCase.Open("vae", caseName);
        using var vae = AutoencoderKL.FromPretrained(fixture.Directory);
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();

        Tensor unscaled = vae.Unscale(inputs.Read("latents"));
        TensorAssert.Close(expected.Read("latents_unscaled"), unscaled, "latents_unscaled");
        Tensor sample = vae.Decode(unscaled);
        TensorAssert.Close(expected.Read("sample"), sample, "sample");
        TensorAssert.Close(expected.Read("image_postprocessed"), sample.div(2).add(0.5).clamp(0, 1), "image_postprocessed");

        using LatentPosterior posterior = vae.Encode(inputs.Read("image"));
        TensorAssert.Close(expected.Read("latent_mean"), posterior.Mean, "latent_mean");
        TensorAssert.Close(expected.Read("latent_logvar"), posterior.LogVar, "latent_logvar");
        TensorAssert.Close(expected.Read("latent_std"), posterior.Std(), "latent_std");
        Tensor drawn = posterior.Sample(inputs.Read("noise"));
        TensorAssert.Close(expected.Read("latent_sample"), drawn, "latent_sample");
        TensorAssert.Close(expected.Read("latents_scaled"), vae.Scale(drawn), "latents_scaled");
        TensorAssert.Close(expected.Read("latent_mean_scaled"), vae.Scale(posterior.Mean), "latent_mean_scaled");
        output.WriteLine($"sample max abs diff {TensorAssert.MaxAbsDiff(expected.Read("sample"), sample):G3}");
    }
}

using System.Globalization;
using Ras.IO.Safetensors;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary>
/// Every SD3, FLUX.1 and Lumina <c>kind: "denoise"</c> fixture through <c>ras denoise</c>, the case's RAS parameters (and Lumina's
/// pipeline constants) as flags; FLUX.1's packed inputs as they are, the output compared packed.
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class DenoiseFixtureTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [FixtureCases("sd3", "denoise")]
    public void Sd3_denoise_through_the_cli(string caseName) => DenoiseThroughTheCli("sd3", caseName, []);

    [FixtureCases("lumina", "denoise")]
    public void Lumina_denoise_through_the_cli(string caseName)
    {
        using var fixture = FixtureCase.Open("lumina", caseName);
        var pipeline = fixture.Json.GetProperty("pipeline");
        Assert.Equal(8, fixture.Json.GetProperty("vae_scale_factor").GetInt32());
        string output = DenoiseThroughTheCli("lumina", caseName,
        [
            "--scaling-watershed", pipeline.GetProperty("scaling_watershed").GetDouble().ToString(CultureInfo.InvariantCulture),
            "--proportional-attn", pipeline.GetProperty("proportional_attn").GetBoolean() ? "true" : "false",
        ]);
        Assert.Contains("LuminaNextDiT2DModel", output, StringComparison.Ordinal);
    }

    [FixtureCases("flux", "denoise")]
    public void Flux_denoise_through_the_cli(string caseName)
    {
        using var fixture = FixtureCase.Open("flux", caseName);
        string output = DenoiseThroughTheCli("flux", caseName, []);
        Assert.Contains("FluxTransformer2DModel", output, StringComparison.Ordinal);

        // A model without a guidance embedding ignores --guidance, and says so, as diffusers ignores guidance_scale there.
        Assert.Equal(!fixture.Json.GetProperty("guidance_used").GetBoolean(), output.Contains("no guidance", StringComparison.Ordinal));
    }

    /// <summary>Runs the case through <c>ras denoise</c>, compares the final latents and returns the command's output.</summary>
    private string DenoiseThroughTheCli(string family, string caseName, string[] extra)
    {
        using var fixture = FixtureCase.Open(family, caseName);
        string output = temp.File("latents.safetensors");
        var args = new List<string>
        {
            "denoise", "--model", fixture.Directory, "--inputs", fixture.PathOf("inputs.safetensors"), "--out", output,
            "--steps", fixture.Json.GetProperty("num_inference_steps").GetInt32().ToString(CultureInfo.InvariantCulture),
            "--guidance", fixture.Json.GetProperty("guidance_scale").GetDouble().ToString(CultureInfo.InvariantCulture),
        };
        args.AddRange(fixture.RasFlags());
        args.AddRange(extra);

        var result = CliRunner.Run([.. args]);
        Assert.True(result.ExitCode == 0, result.Error);
        using (var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors")))
        using (var written = SafetensorsFile.Open(output))
        {
            // The output has the layout the latents came in (FLUX.1: packed [B, N, 64]).
            Assert.Equal(inputs.Get("latents").Shape, written.Get("latents").Shape);
        }

        using var actual = SafetensorsFile.Open(output);
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var a = actual.Read("latents");
        using var e = expected.Read("latents");
        TensorAssert.Close(e, a, "latents");
        Assert.Contains($"wrote:    {output}", result.Out, StringComparison.Ordinal);
        return result.Out;
    }
}

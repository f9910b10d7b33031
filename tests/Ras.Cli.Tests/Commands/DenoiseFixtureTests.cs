using System.Globalization;
using Ras.IO.Safetensors;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary>Every SD3 <c>kind: "denoise"</c> fixture through <c>ras denoise</c>, the case's RAS parameters as flags.</summary>
[Trait("Category", "Fixtures")]
public sealed class DenoiseFixtureTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [FixtureCases("sd3", "denoise")]
    public void Sd3_denoise_through_the_cli(string caseName)
    {
        using var fixture = FixtureCase.Open("sd3", caseName);
        string output = temp.File("latents.safetensors");
        var args = new List<string>
        {
            "denoise", "--model", fixture.Directory, "--inputs", fixture.PathOf("inputs.safetensors"), "--out", output,
            "--steps", fixture.Json.GetProperty("num_inference_steps").GetInt32().ToString(CultureInfo.InvariantCulture),
            "--guidance", fixture.Json.GetProperty("guidance_scale").GetDouble().ToString(CultureInfo.InvariantCulture),
        };
        args.AddRange(fixture.RasFlags());

        var result = CliRunner.Run([.. args]);
        Assert.True(result.ExitCode == 0, result.Error);
        using var actual = SafetensorsFile.Open(output);
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var a = actual.Read("latents");
        using var e = expected.Read("latents");
        TensorAssert.Close(e, a, "latents");
        Assert.Contains($"wrote:    {output}", result.Out, StringComparison.Ordinal);
    }
}

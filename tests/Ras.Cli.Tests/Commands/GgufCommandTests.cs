using Ras.IO.Images;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary>A FLUX.1 GGUF end to end through the CLI: <c>info</c>, <c>generate --config</c>, and <c>convert</c> to a float32 file that draws the same image.</summary>
public sealed class GgufCommandTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void A_flux_gguf_generates_like_its_converted_float32_file()
    {
        string folder = TinyFluxPipelines.Write(temp.File("flux-dev"));
        string bfl = TinyFluxPipelines.WriteSingleFile(folder, temp.File("flux1-dev.safetensors"), allInOne: false);
        string gguf = TinyGgufFiles.FromSafetensors(bfl, temp.File("flux1-dev-Q8_0.gguf"), "flux");

        var info = CliRunner.Run("info", "--model", gguf);
        Assert.True(info.ExitCode == 0, info.Error);
        Assert.Contains("family:        FLUX.1", info.Out, StringComparison.Ordinal);
        Assert.Contains("Q4_K", info.Out, StringComparison.Ordinal);
        Assert.Contains("Q8_0", info.Out, StringComparison.Ordinal);

        string converted = temp.File("flux1-dev-f32.safetensors");
        var convert = CliRunner.Run("convert", gguf, "--out", converted);
        Assert.True(convert.ExitCode == 0, convert.Error);

        string[] Args(string model, string output) =>
            ["generate", "a fox", "--model", model, "--config", folder, "--steps", "3", "--seed", "8", "--width", "16", "--height", "16", "--out", output];
        var fromGguf = CliRunner.Run(Args(gguf, temp.File("gguf.png")));
        var fromConverted = CliRunner.Run(Args(converted, temp.File("f32.png")));
        Assert.True(fromGguf.ExitCode == 0, fromGguf.Error);
        Assert.True(fromConverted.ExitCode == 0, fromConverted.Error);
        Assert.Contains("(single file", fromGguf.Out, StringComparison.Ordinal);
        byte[] a = ImageReader.Read(temp.File("gguf.png")).Rgb;
        byte[] b = ImageReader.Read(temp.File("f32.png")).Rgb;
        Assert.True(a.Zip(b, (x, y) => Math.Abs(x - y)).Max() <= 1);
    }
}

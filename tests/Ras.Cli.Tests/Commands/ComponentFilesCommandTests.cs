using Ras.IO.Images;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary>
/// A FLUX.1 GGUF with its text encoders and VAE as separate files, as Forge and ComfyUI users keep them
/// (<c>--clip-l clip_l.safetensors --t5 t5xxl_fp8_e4m3fn.safetensors --vae ae.safetensors</c>), with and without a diffusers folder.
/// </summary>
public sealed class ComponentFilesCommandTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly string folder;
    private readonly string gguf;
    private readonly string clipL;
    private readonly string t5;
    private readonly string ae;

    public ComponentFilesCommandTests()
    {
        folder = TinyFluxPipelines.Write(temp.File("flux-dev"), standardTokenizers: true);
        string bfl = TinyFluxPipelines.WriteSingleFile(folder, temp.File("flux1-dev.safetensors"), allInOne: false);
        gguf = TinyGgufFiles.FromSafetensors(bfl, temp.File("flux1-dev-Q8_0.gguf"), "flux");
        clipL = temp.File("clip_l.safetensors");
        File.Copy(Path.Combine(folder, "text_encoder", "model.safetensors"), clipL);
        t5 = Fp8Files.Copy(Path.Combine(folder, "text_encoder_2", "model.safetensors"), temp.File("t5xxl_fp8_e4m3fn.safetensors"));
        ae = TinyFluxPipelines.WriteAe(folder, temp.File("ae.safetensors"));
    }

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Component_files_without_a_folder_draw_what_they_draw_with_the_folders_configs()
    {
        var withConfig = CliRunner.Run([.. Args("config.png"), "--config", folder]);
        var alone = CliRunner.Run(Args("alone.png"));
        Assert.True(withConfig.ExitCode == 0, withConfig.Error);
        Assert.True(alone.ExitCode == 0, alone.Error);
        byte[] a = ImageReader.Read(temp.File("config.png")).Rgb;
        byte[] b = ImageReader.Read(temp.File("alone.png")).Rgb;
        Assert.True(a.Zip(b, (x, y) => Math.Abs(x - y)).Max() <= 1, "built-in configs and tokenizers differ from the folder's");

        // The fp8 T5 file is what ran: the folder's own float32 T5 draws another image.
        var folderT5 = CliRunner.Run([.. Args("folder-t5.png", omit: "--t5"), "--config", folder]);
        Assert.True(folderT5.ExitCode == 0, folderT5.Error);
        Assert.NotEqual(a, ImageReader.Read(temp.File("folder-t5.png")).Rgb);
    }

    [Theory]
    [InlineData("--clip-g", "clip_l", "error: clip-g: FLUX.1 has no such component")]
    [InlineData("--t5", "missing", "error: t5: ")]
    [InlineData("--t5", "clip_l", "not a T5 encoder")]
    [InlineData("--vae", "clip_l", "not a VAE")]
    [InlineData("--clip-l", "ae", "not a CLIP text encoder")]
    public void Wrong_component_files_are_named(string flag, string file, string message)
    {
        string path = file switch { "clip_l" => clipL, "ae" => ae, _ => temp.File("missing.safetensors") };
        var result = CliRunner.Run([.. Args("bad.png", omit: flag), flag, path]);
        Assert.Equal(2, result.ExitCode);
        Assert.True(result.Error.Contains(message, StringComparison.Ordinal), result.Error);
        Assert.False(File.Exists(temp.File("bad.png")));
    }

    [Fact]
    public void A_missing_vae_names_the_flag_that_supplies_it()
    {
        var result = CliRunner.Run("generate", "a fox", "--model", gguf, "--clip-l", clipL, "--t5", t5, "--steps", "1", "--out", temp.File("x.png"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no vae", result.Error, StringComparison.Ordinal);
        Assert.Contains("--vae FILE", result.Error, StringComparison.Ordinal);
    }

    /// <summary>A generation from the GGUF with all three component files, less the one named by <paramref name="omit"/>.</summary>
    private string[] Args(string output, string? omit = null)
    {
        var files = new[] { ("--t5", t5), ("--clip-l", clipL), ("--vae", ae) }.Where(f => f.Item1 != omit).SelectMany(f => new[] { f.Item1, f.Item2 });
        return ["generate", "a fox on a hill", "--model", gguf, .. files, "--steps", "3", "--seed", "8", "--width", "16", "--height", "16", "--out", temp.File(output)];
    }
}

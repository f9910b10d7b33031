using System.Text;
using System.Text.Json;
using Ras.IO.Images;
using Ras.Models.Flux;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary><c>ras generate</c>, <c>info</c> and <c>bench</c> on tiny FLUX.1 folders and single files (denoise: the fixtures).</summary>
public sealed class FluxCommandTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly string model;

    public FluxCommandTests()
    {
        model = TinyFluxPipelines.Write(temp.File("flux-dev"));
    }

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Generate_runs_dense_and_with_ras_and_reports_the_distilled_guidance()
    {
        var dense = CliRunner.Run("generate", "a red circle", "--model", model, "--steps", "5", "--seed", "3", "--width", "32", "--height", "24",
            "--out", temp.File("dense.png"));
        Assert.True(dense.ExitCode == 0, dense.Error);
        Assert.Contains("FLUX.1-dev (folder", dense.Out, StringComparison.Ordinal);
        Assert.Contains("tokens:   per step [48 48 48 48 48]", dense.Out, StringComparison.Ordinal);
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("dense.png")));
        Assert.Contains("CFG scale: 1, Seed: 3, Size: 32x24, Model hash: ", text, StringComparison.Ordinal);
        Assert.Contains("Max sequence length: 512", text, StringComparison.Ordinal);

        var ras = CliRunner.Run("generate", "a red circle", "--model", model, "--steps", "5", "--seed", "3", "--width", "32", "--height", "24", "--ras",
            "--scheduler-start-step", "2", "--error-reset-steps", "", "--out", temp.File("ras.png"), "--heatmap", temp.File("heat.png"));
        Assert.True(ras.ExitCode == 0, ras.Error);
        Assert.Contains("sample-ratio 0.5, metric std, high-ratio 0.3, starvation-scale 1", ras.Out, StringComparison.Ordinal);
        Assert.Contains("steps:    5 (2 dense, 3 RAS)", ras.Out, StringComparison.Ordinal);
        Assert.Contains("tokens:   per step [48 48 25 25 25]", ras.Out, StringComparison.Ordinal);   // skip int(0.5·48) = 24: 16 low + 7 high cached
        RgbImage a = ImageReader.Read(temp.File("dense.png"));
        RgbImage b = ImageReader.Read(temp.File("ras.png"));
        Assert.Equal((32, 24), (b.Width, b.Height));
        Assert.NotEqual(a.Rgb, b.Rgb);
        Assert.True(File.Exists(temp.File("heat.png")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_bfl_single_file_draws_the_folders_image(bool allInOne)
    {
        string file = TinyFluxPipelines.WriteSingleFile(model, temp.File($"flux1-dev-{allInOne}.safetensors"), allInOne);
        string[] Args(string from, string output) => ["generate", "a fox", "--model", from, "--steps", "3", "--seed", "8", "--width", "16", "--height", "16", "--out", output];
        var folder = CliRunner.Run(Args(model, temp.File("folder.png")));
        var single = CliRunner.Run([.. Args(file, temp.File("file.png")), "--config", model]);
        Assert.True(folder.ExitCode == 0, folder.Error);
        Assert.True(single.ExitCode == 0, single.Error);
        Assert.Contains("(single file", single.Out, StringComparison.Ordinal);
        Assert.Equal(ImageReader.Read(temp.File("folder.png")).Rgb, ImageReader.Read(temp.File("file.png")).Rgb);
    }

    [Fact]
    public void True_cfg_runs_with_a_negative_prompt()
    {
        var result = CliRunner.Run("generate", "a fox", "--model", model, "--steps", "3", "--seed", "8", "--width", "16", "--height", "16",
            "--negative-prompt", "blurry", "--true-cfg", "4", "--out", temp.File("cfg.png"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Distilled CFG Scale: 3.5", Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("cfg.png"))), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("true-cfg", "--true-cfg", "4")]
    [InlineData("negative-prompt", "--negative-prompt", "blurry")]
    [InlineData("width", "--width", "30")]
    [InlineData("no-t5", "--no-t5")]
    [InlineData("max-sequence-length", "--max-sequence-length", "600")]
    public void Generate_rejects_bad_options_naming_them_and_writes_nothing(string named, params string[] flags)
    {
        var result = CliRunner.Run(["generate", "a fox", "--model", model, "--steps", "2", "--out", temp.File("x.png"), .. flags]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    [Fact]
    public void Single_files_with_missing_parts_or_of_another_family_exit_2()
    {
        string bare = TinyFluxPipelines.WriteSingleFile(model, temp.File("flux1-dev.safetensors"), allInOne: false);
        var noConfig = CliRunner.Run("generate", "a fox", "--model", bare, "--out", temp.File("x.png"));
        Assert.Equal(2, noConfig.ExitCode);
        Assert.Contains("--config", noConfig.Error, StringComparison.Ordinal);

        // An SD3 single file with a FLUX.1 --config folder: the family comes from the file's keys, and the folder does not match it.
        string sd3 = TinySingleFiles.WriteSd3(TinyPipelines.WriteSd3Pipeline(temp.File("sd3")), temp.File("sd3.safetensors"));
        var mixed = CliRunner.Run("generate", "a fox", "--model", sd3, "--config", model, "--out", temp.File("x.png"));
        Assert.Equal(2, mixed.ExitCode);
        Assert.Contains("_class_name", mixed.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    [Fact]
    public void Info_describes_a_flux_transformer()
    {
        var result = CliRunner.Run("info", "--model", model);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("class:         FluxTransformer2DModel", result.Out, StringComparison.Ordinal);
        Assert.Contains("2 double-stream + 2 single-stream blocks, 2 heads × 8 = 16 wide", result.Out, StringComparison.Ordinal);
        Assert.Contains("guidance embedding (FLUX.1-dev style", result.Out, StringComparison.Ordinal);
        Assert.Contains("use_dynamic_shifting", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_synthetic_flux_dev_counts_flux_flops_with_one_image_and_512_text_tokens()
    {
        string json = temp.File("bench.json");
        var result = CliRunner.Run("bench", "--synthetic", "flux-dev", "--layers", "1", "--single-layers", "1", "--height", "64", "--width", "64",
            "--ratios", "0.5", "--repeat", "1", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("synthetic flux-dev (random weights, 1 layers + 1 single-stream): FluxTransformer2DModel", result.Out, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var rows = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([16, 8], rows.Select(r => r.GetProperty("active_tokens").GetInt32()));
        Assert.All(rows, r => Assert.Equal(512, r.GetProperty("text_tokens").GetInt32()));
        Assert.Equal(1, document.RootElement.GetProperty("config").GetProperty("batch").GetInt32());
        var config = new FluxTransformerConfig { NumLayers = 1, NumSingleLayers = 1, GuidanceEmbeds = true };
        Assert.Equal(FluxFlopCount.Forward(config, 1, 16, 8, 512), rows[1].GetProperty("flops").GetDouble());
    }
}

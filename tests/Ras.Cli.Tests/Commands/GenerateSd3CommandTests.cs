using System.Text;
using System.Text.Json.Nodes;
using Ras.IO.Images;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary><c>ras generate</c> on a tiny SD3 pipeline folder (no T5, so no fixture is needed).</summary>
public sealed class GenerateSd3CommandTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly string model;

    public GenerateSd3CommandTests()
    {
        model = TinyPipelines.WriteSd3Pipeline(temp.File("sd3"));
    }

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Sd3_folder_generates_a_batch_with_parameters_and_heatmaps()
    {
        var result = CliRunner.Run("generate", "a cat", "--model", model, "--steps", "6", "--seed", "3", "--width", "32", "--height", "16",
            "--batch", "2", "--ras", "--scheduler-start-step", "2", "--error-reset-steps", "", "--out", temp.File("cat.png"), "--heatmap", temp.File("heat.png"));
        Assert.True(result.ExitCode == 0, result.Error);
        foreach (string name in new[] { "cat-0.png", "cat-1.png", "heat-0.png", "heat-1.png" })
        {
            Assert.True(File.Exists(temp.File(name)), name);
        }

        RgbImage image = ImageReader.Read(temp.File("cat-0.png"));
        Assert.Equal((32, 16), (image.Width, image.Height));
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("cat-1.png")));
        Assert.Contains("parameters\0a cat\nSteps: 6, Sampler: Euler, CFG scale: ", text, StringComparison.Ordinal);
        Assert.Contains("Seed: 4, Size: 32x16, Model hash: ", text, StringComparison.Ordinal);
        Assert.Contains("RAS scheduler start step: 2", text, StringComparison.Ordinal);
        Assert.Contains("SD3 (folder", result.Out, StringComparison.Ordinal);
        Assert.Contains("steps:    6 (2 dense, 4 RAS)", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_seed_writes_the_same_png_and_another_seed_does_not()
    {
        string[] Args(string seed, string file) => ["generate", "a cat", "--model", model, "--steps", "3", "--seed", seed, "--width", "16", "--height", "16", "--out", temp.File(file)];
        Assert.Equal(0, CliRunner.Run(Args("5", "a.png")).ExitCode);
        Assert.Equal(0, CliRunner.Run(Args("5", "b.png")).ExitCode);
        Assert.Equal(0, CliRunner.Run(Args("6", "c.png")).ExitCode);
        Assert.Equal(File.ReadAllBytes(temp.File("a.png")), File.ReadAllBytes(temp.File("b.png")));
        Assert.NotEqual(ImageReader.Read(temp.File("a.png")).Rgb, ImageReader.Read(temp.File("c.png")).Rgb);
    }

    [Fact]
    public void Image_to_image_runs_the_strengths_share_of_the_steps()
    {
        var input = CliRunner.Run("generate", "a dog", "--model", model, "--steps", "2", "--width", "32", "--height", "32", "--out", temp.File("in.png"));
        Assert.True(input.ExitCode == 0, input.Error);
        var result = CliRunner.Run("generate", "a dog", "--model", model, "--steps", "10", "--image", temp.File("in.png"), "--strength", "0.3", "--out", temp.File("out.png"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("steps:    3 (3 dense, 0 RAS)", result.Out, StringComparison.Ordinal);
        Assert.Contains("Denoising strength: 0.3", Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("out.png"))), StringComparison.Ordinal);
    }

    [Fact]
    public void No_t5_generates_what_a_folder_without_t5_generates()
    {
        string withT5 = TinyPipelines.WriteSd3Pipeline(temp.File("sd3-t5"), withT5: true);

        // The same weights without text_encoder_3/ and tokenizer_3/ (a second tiny folder would draw its weights from
        // the process-wide generator, which tests running in parallel also draw from).
        string withoutT5 = temp.File("sd3-no-t5");
        foreach (string file in Directory.GetFiles(withT5, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(withT5, file);
            if (!relative.StartsWith("text_encoder_3", StringComparison.Ordinal) && !relative.StartsWith("tokenizer_3", StringComparison.Ordinal))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(withoutT5, relative))!);
                File.Copy(file, Path.Combine(withoutT5, relative));
            }
        }

        JsonObject index = JsonNode.Parse(File.ReadAllText(Path.Combine(withoutT5, "model_index.json")))!.AsObject();
        index.Remove("text_encoder_3");
        index.Remove("tokenizer_3");
        File.WriteAllText(Path.Combine(withoutT5, "model_index.json"), index.ToJsonString());

        string[] Args(string folder, string file, params string[] extra) =>
            ["generate", "a red cube", "--model", folder, "--steps", "2", "--seed", "4", "--width", "16", "--height", "16", "--out", temp.File(file), .. extra];
        var skipped = CliRunner.Run(Args(withT5, "skipped.png", "--no-t5"));
        Assert.True(skipped.ExitCode == 0, skipped.Error);
        var absent = CliRunner.Run(Args(withoutT5, "absent.png"));
        Assert.True(absent.ExitCode == 0, absent.Error);
        Assert.Equal(0, CliRunner.Run(Args(withT5, "used.png")).ExitCode);

        Assert.Equal(ImageReader.Read(temp.File("absent.png")).Rgb, ImageReader.Read(temp.File("skipped.png")).Rgb);
        Assert.NotEqual(ImageReader.Read(temp.File("used.png")).Rgb, ImageReader.Read(temp.File("skipped.png")).Rgb);
        Assert.Contains("T5: skipped", Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("skipped.png"))), StringComparison.Ordinal);
    }

    /// <summary>Issue 16: <c>--clip-skip</c> reaches both CLIP towers and is recorded as A1111 records it.</summary>
    [Fact]
    public void Clip_skip_changes_the_image_and_is_recorded_in_the_parameters()
    {
        string[] Args(string file, params string[] extra) =>
            ["generate", "a red cube", "--model", model, "--steps", "2", "--seed", "4", "--width", "16", "--height", "16", "--out", temp.File(file), .. extra];
        var skipped = CliRunner.Run(Args("skip1.png", "--clip-skip", "1"));
        Assert.True(skipped.ExitCode == 0, skipped.Error);
        Assert.Equal(0, CliRunner.Run(Args("skip0.png", "--clip-skip", "0")).ExitCode);
        Assert.Equal(0, CliRunner.Run(Args("default.png")).ExitCode);
        Assert.Matches(", Clip skip: 1(,|$)", Ras.IO.Images.PngText.Read(File.ReadAllBytes(temp.File("skip1.png")))["parameters"]);
        Assert.DoesNotContain("Clip skip", Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("default.png"))), StringComparison.Ordinal);
        Assert.Equal(ImageReader.Read(temp.File("default.png")).Rgb, ImageReader.Read(temp.File("skip0.png")).Rgb);
        Assert.NotEqual(ImageReader.Read(temp.File("default.png")).Rgb, ImageReader.Read(temp.File("skip1.png")).Rgb);

        var tooMany = CliRunner.Run(Args("x.png", "--clip-skip", "5"));
        Assert.Equal(2, tooMany.ExitCode);
        Assert.Contains("clip-skip", tooMany.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    /// <summary>Issue 16: Stability's <c>sd3_medium_incl_clips*</c> files hold no CLIP-L <c>text_projection</c> (used to fail: "1 missing key(s)").</summary>
    [Fact]
    public void Single_file_whose_clip_l_has_no_projection_draws_what_the_identity_projection_folder_draws()
    {
        string identity = TinyPipelines.WriteSd3Pipeline(temp.File("sd3-identity"), identityClipLProjection: true);
        string file = TinySingleFiles.WriteSd3(identity, temp.File("sd3_incl_clips.safetensors"), omit: key => key == TinySingleFiles.ClipLPrefix + "text_projection.weight");
        string[] Args(string png, params string[] model) =>
            ["generate", "a red cube", .. model, "--steps", "2", "--seed", "4", "--width", "16", "--height", "16", "--out", temp.File(png)];
        var fromFile = CliRunner.Run(Args("file.png", "--model", file, "--config", identity));
        Assert.True(fromFile.ExitCode == 0, fromFile.Error);
        var fromFolder = CliRunner.Run(Args("folder.png", "--model", identity));
        Assert.True(fromFolder.ExitCode == 0, fromFolder.Error);
        Assert.Equal(ImageReader.Read(temp.File("folder.png")).Rgb, ImageReader.Read(temp.File("file.png")).Rgb);
    }

    [Theory]
    [InlineData("width", "--width", "18")]
    [InlineData("max-sequence-length", "--max-sequence-length", "0")]
    [InlineData("strength", "--strength", "0.5")]
    [InlineData("shift", "--shift", "-1")]
    public void Bad_sd3_options_exit_2_naming_the_option_and_write_nothing(string named, string flag, string value)
    {
        var result = CliRunner.Run("generate", "a cat", "--model", model, "--steps", "2", flag, value, "--out", temp.File("x.png"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    [Fact]
    public void Prompt_over_the_token_limit_is_truncated_with_a_warning()
    {
        // The tiny vocabulary has no merges: one token per character, so 100 characters exceed CLIP's 75.
        string prompt = string.Concat(Enumerable.Repeat("abcd ", 20));
        var result = CliRunner.Run("generate", prompt, "--model", model, "--steps", "1", "--out", temp.File("long.png"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("ras: warning: The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens:", result.Error, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.File("long.png")));
    }

    [Theory]
    [InlineData("vae")]
    [InlineData("text_encoder")]
    public void Missing_component_folder_exits_2_naming_it(string component)
    {
        Directory.Delete(Path.Combine(model, component), recursive: true);
        var result = CliRunner.Run("generate", "a cat", "--model", model, "--steps", "1", "--out", temp.File("x.png"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(component + "/", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    [Fact]
    public void Folder_of_another_pipeline_exits_2_naming_its_class()
    {
        File.WriteAllText(Path.Combine(model, "model_index.json"), "{\"_class_name\": \"StableDiffusionXLPipeline\"}");
        var result = CliRunner.Run("generate", "a cat", "--model", model, "--out", temp.File("x.png"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("StableDiffusionXLPipeline", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unwritable_output_exits_2_before_any_work()
    {
        var result = CliRunner.Run("generate", "a cat", "--model", model, "--out", "/proc/ras-cannot-write/x.png");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("/proc/ras-cannot-write", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_tokenizer_folder_is_a_clear_error()
    {
        Directory.Delete(Path.Combine(model, "tokenizer_2"), recursive: true);
        var result = CliRunner.Run("generate", "a cat", "--model", model, "--steps", "1", "--out", temp.File("x.png"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("tokenizer_2", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.png")));
    }
}

using System.Text;
using System.Text.Json;
using Ras.Pipelines;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

public sealed class GenerateCommandTests(ShapesModelFixture fixture) : IClassFixture<ShapesModelFixture>, IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Training_smoke_test_resumes_and_exports()
    {
        Assert.True(fixture.Training.ExitCode == 0, fixture.Training.Error);
        Assert.Contains("stopped:    step 2", fixture.Training.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(fixture.Model, "transformer", "diffusion_pytorch_model.safetensors")));
        var again = CliRunner.Run("train-default", "--checkpoint-dir", fixture.CheckpointDir, "--steps", "3", "--batch-size", "2");
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Contains("(at step 2)", again.Out, StringComparison.Ordinal);
        Assert.Contains("stopped:    step 3", again.Out, StringComparison.Ordinal);
    }

    /// <summary>Issue 16: a changed option on resume used to print the whole options record.</summary>
    [Fact]
    public void Resuming_with_another_option_names_it_with_both_values()
    {
        Assert.True(fixture.Training.ExitCode == 0, fixture.Training.Error);
        var result = CliRunner.Run("train-default", "--checkpoint-dir", fixture.CheckpointDir, "--steps", "9", "--batch-size", "3", "--learning-rate", "0.001");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("ras: error: batch-size: the checkpoint in ", result.Error, StringComparison.Ordinal);
        Assert.Contains("was trained with 2, this run asks for 3 (also different: learning-rate 0.0004 → 0.001)", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("ShapesTrainingOptions", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Transformer", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_default_runs_on_the_cpu_only()
    {
        var result = CliRunner.Run("train-default", "--checkpoint-dir", temp.File("never"), "--device", "cuda");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("device:", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.File("never")));
    }

    [Fact]
    public void The_ras_preset_takes_its_own_step_count_unless_steps_are_given()
    {
        var preset = CliRunner.Run("generate", "a small red circle at the center on a blue background", "--model", fixture.Model, "--seed", "7", "--out", temp.File("p.png"), "--ras");
        Assert.True(preset.ExitCode == 0, preset.Error);
        Assert.Contains($"sampler:  {ShapesPipeline.RecommendedRasSteps} steps", preset.Out, StringComparison.Ordinal);
        Assert.Contains($"Steps: {ShapesPipeline.RecommendedRasSteps},", Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("p.png"))), StringComparison.Ordinal);

        // RAS flags without --ras are not the preset: the model's default steps.
        var flags = CliRunner.Run("generate", "a small red circle at the center on a blue background", "--model", fixture.Model, "--seed", "7", "--out", temp.File("f.png"), "--sample-ratio", "0.5");
        Assert.True(flags.ExitCode == 0, flags.Error);
        Assert.Contains($"sampler:  {ShapesPipeline.DefaultSteps} steps", flags.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Writes_a_png_with_its_parameters_and_the_same_seed_repeats_it()
    {
        string a = temp.File("a.png");
        string b = temp.File("b.png");
        var first = CliRunner.Run("generate", "a small red circle at the center on a blue background", "--model", fixture.Model, "--steps", "3", "--seed", "7", "--out", a, "--ras", "--heatmap", temp.File("heat.png"));
        var second = CliRunner.Run("generate", "a small red circle at the center on a blue background", "--model", fixture.Model, "--steps", "3", "--seed", "7", "--out", b, "--ras");
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(a));
        Assert.Contains("parameters\0a small red circle at the center on a blue background\nSteps: 3, Sampler: Euler, CFG scale: 4, Seed: 7, Size: 64x64, Model hash: ", text, StringComparison.Ordinal);
        Assert.Contains("Seed: 7", text, StringComparison.Ordinal);
        Assert.Contains("RAS sample ratio: 0.5, RAS metric: delta", text, StringComparison.Ordinal);   // the model's --ras preset
        Assert.Contains("RAS selection: revisit", text, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.File("heat.png")));
        Assert.Contains("tokens:", first.Out, StringComparison.Ordinal);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(a)[..4]);
    }

    [Fact]
    public void A_prompt_outside_latin1_reads_back_unchanged_from_the_png()
    {
        string png = temp.File("star.png");
        var result = CliRunner.Run("generate", "a large yellow star — 星", "--model", fixture.Model, "--steps", "1", "--seed", "1", "--out", png);
        Assert.True(result.ExitCode == 0, result.Error);
        // No negative prompt: A1111 leaves the line out.
        Assert.StartsWith("a large yellow star — 星\nSteps: 1,", PngText.Get(png, "parameters"), StringComparison.Ordinal);
    }

    [Fact]
    public void Batch_writes_numbered_files_and_unknown_words_only_warn()
    {
        var result = CliRunner.Run("generate", "a small teal circle", "--model", fixture.Model, "--steps", "2", "--batch", "2", "--out", temp.File("out.png"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.True(File.Exists(temp.File("out-0.png")));
        Assert.True(File.Exists(temp.File("out-1.png")));
        Assert.Contains("'teal' is not in the model's vocabulary", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--width", "66", "width")]
    [InlineData("--height", "128", "height")]
    [InlineData("--selection", "random", "selection")]
    [InlineData("--sample-ratio", "2", "sample-ratio")]
    [InlineData("--clip-skip", "1", "clip-skip")]
    public void Bad_options_exit_2_and_write_nothing(string flag, string value, string named)
    {
        var result = CliRunner.Run("generate", "a small red circle", "--model", fixture.Model, "--steps", "2", "--out", temp.File("x.png"), flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void A_folder_that_is_not_a_model_is_rejected()
    {
        var result = CliRunner.Run("generate", "a small red circle", "--model", temp.Path, "--out", temp.File("x.png"));
        Assert.Equal(2, result.ExitCode);
    }

    [Fact]
    public void Eval_reports_every_row_in_json_and_markdown()
    {
        string json = temp.File("eval.json");
        string grid = temp.File("grid.png");
        var result = CliRunner.Run("eval", "--model", fixture.Model, "--prompts", "2", "--batch-size", "2", "--steps", "8", "--json", json, "--grid", grid, "--grid-prompts", "3");
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(12, rows.Count);
        Assert.Equal(["dense", "preset", "fewer-steps", "ras", "ras", "fewer-steps", "ras", "ras", "fewer-steps", "ras", "ras", "fewer-steps"],
            rows.Select(r => r.GetProperty("method").GetString()));
        Assert.Equal(JsonValueKind.Null, rows[0].GetProperty("psnr").ValueKind);
        Assert.Equal("revisit", rows[4].GetProperty("selection").GetString());
        Assert.All(rows.Skip(1), r => Assert.InRange(r.GetProperty("ssim").GetDouble(), -1, 1));
        Assert.True(rows[11].GetProperty("steps").GetInt32() < 8);   // fewer steps for the FLOPs of RAS at 0.25

        // Every row: FLOPs per image and how many times fewer than dense; the preset's fewer-steps row matches its compute.
        double dense = rows[0].GetProperty("flops").GetDouble();
        Assert.All(rows, r => Assert.Equal(dense / r.GetProperty("flops").GetDouble(), r.GetProperty("flops_ratio").GetDouble(), 9));
        Assert.Equal(1.0, rows[0].GetProperty("flops_ratio").GetDouble());
        Assert.InRange(rows[2].GetProperty("flops").GetDouble() / rows[1].GetProperty("flops").GetDouble(), 0.8, 1.25);
        Assert.Contains("| method |", File.ReadAllText(Path.ChangeExtension(json, ".md")), StringComparison.Ordinal);
        Assert.Contains("| background |", File.ReadAllText(Path.ChangeExtension(json, ".md")), StringComparison.Ordinal);
        JsonElement attributes = rows[0].GetProperty("attributes");
        foreach (string name in new[] { "background", "present", "colour", "size", "kind" })
        {
            Assert.InRange(attributes.GetProperty(name).GetDouble(), 0, 1);
        }

        Assert.Equal(3, attributes.GetProperty("adherence_by_shape_count").GetArrayLength());

        // Grid: 2 rows (capped at --prompts) × 5 columns of 2×-scaled 64-pixel cells with 4-pixel gaps.
        var image = Ras.IO.Images.ImageReader.Read(grid);
        Assert.Equal(((5 * 132) + 4, (2 * 132) + 4), (image.Width, image.Height));
        Assert.Equal(2, File.ReadAllLines(Path.ChangeExtension(grid, ".txt")).Length);
    }

    [Theory]
    [InlineData("", new[] { "dense", "preset", "fewer-steps" })]
    [InlineData("0.5", new[] { "dense", "preset", "fewer-steps", "ras", "ras", "fewer-steps" })]
    public void Eval_runs_only_the_requested_ratios(string ratios, string[] methods)
    {
        string json = temp.File("eval.json");
        var result = CliRunner.Run("eval", "--model", fixture.Model, "--prompts", "1", "--steps", "6", "--ratios", ratios, "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.Equal(methods, document.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("method").GetString()));
    }

    [Fact]
    public void Eval_runs_the_preset_on_its_own_step_count_against_dense_at_the_default()
    {
        string json = temp.File("eval.json");
        var result = CliRunner.Run("eval", "--model", fixture.Model, "--prompts", "1", "--ratios", "", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal((ShapesPipeline.DefaultSteps, ShapesPipeline.RecommendedRasSteps), (rows[0].GetProperty("steps").GetInt32(), rows[1].GetProperty("steps").GetInt32()));
        Assert.True(rows[1].GetProperty("flops_ratio").GetDouble() > (double)ShapesPipeline.DefaultSteps / ShapesPipeline.RecommendedRasSteps);   // fewer steps, and RAS on top
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("0.5,x")]
    [InlineData("0")]
    public void Eval_rejects_a_bad_ratio_before_any_work(string ratios)
    {
        string json = temp.File("eval.json");
        var result = CliRunner.Run("eval", "--model", fixture.Model, "--prompts", "1", "--ratios", ratios, "--json", json);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("ratios:", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(json));
    }

    [Fact]
    public void Probe_writes_the_error_table_and_the_position_grid()
    {
        string json = temp.File("probe.json");
        string grid = temp.File("probe.png");
        var result = CliRunner.Run("probe", "--model", fixture.Model, "--scenes", "3", "--times", "0.5,0.9", "--json", json, "--grid", grid);
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal([0.5, 0.9], rows.Select(r => r.GetProperty("t").GetDouble()));
        Assert.All(rows, r => Assert.True(r.GetProperty("draw_nothing_error").GetDouble() > 0));
        Assert.Contains("| 0.90 |", result.Out, StringComparison.Ordinal);

        // 9 cells (rows) × 2 noise levels (columns) of 2×-scaled 64-pixel images with 2-pixel gaps.
        var image = Ras.IO.Images.ImageReader.Read(grid);
        Assert.Equal((2 * 130, 9 * 130), (image.Width, image.Height));
    }

    [Fact]
    public void Probe_rejects_a_bad_noise_level_before_any_work()
    {
        string json = temp.File("probe.json");
        var result = CliRunner.Run("probe", "--model", fixture.Model, "--times", "0.5,1.2", "--json", json);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("times:", result.Error, StringComparison.Ordinal);
        Assert.Contains("not a noise level", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(json));
    }
}

using System.Text.Json;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

public sealed class InfoAndBenchCommandTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly TempDirectory modelDir = new();
    private readonly string model;

    public InfoAndBenchCommandTests()
    {
        model = TinyModels.WriteSd3Folder(modelDir.Path);
    }

    public void Dispose()
    {
        temp.Dispose();
        modelDir.Dispose();
    }

    [Fact]
    public void Info_describes_architecture_parameters_and_dtypes()
    {
        var result = CliRunner.Run("info", "--model", model);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("2 joint blocks, 2 heads × 8 = 16 wide, patch 2", result.Out, StringComparison.Ordinal);
        Assert.Contains("Float32", result.Out, StringComparison.Ordinal);
        Assert.Matches("parameters: +[0-9,]+", result.Out);
        Assert.Contains("native 128 px", result.Out, StringComparison.Ordinal);   // latent space: sample_size 16 × 8
        Assert.Equal(2, CliRunner.Run("info", "--model", temp.Path).ExitCode);
    }

    [Fact]
    public void Info_without_a_model_describes_the_built_in_pixel_space_model()
    {
        var result = CliRunner.Run("info");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("space:         pixels", result.Out, StringComparison.Ordinal);
        Assert.Contains("native 64 px", result.Out, StringComparison.Ordinal);   // sample_size counts pixels here, not latents
        Assert.Contains("patch 4", result.Out, StringComparison.Ordinal);
    }

    /// <summary>Issue 16: the model card and <c>ras info</c> gave different counts (the stored position table was counted as a parameter).</summary>
    [Fact]
    public void Info_counts_parameters_as_the_model_card_does_and_lists_the_position_table_apart()
    {
        var result = CliRunner.Run("info");
        Assert.True(result.ExitCode == 0, result.Error);
        string card = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "models", "ras-shapes", "README.md"));
        var counted = System.Text.RegularExpressions.Regex.Match(card, "([0-9,]+) parameters\\. adaLN");
        Assert.True(counted.Success, "the model card states the transformer's parameter count");
        Assert.Contains($"parameters:    {counted.Groups[1].Value} (", result.Out, StringComparison.Ordinal);
        Assert.Contains("buffers:       49,152 values in pos_embed.pos_embed", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_writes_the_documented_json()
    {
        string json = temp.File("bench.json");
        var result = CliRunner.Run("bench", "--model", model, "--height", "128", "--width", "192", "--text-tokens", "7", "--ratios", "0.5,0.25", "--repeat", "2", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var rows = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([1.0, 0.5, 0.25], rows.Select(r => r.GetProperty("ratio").GetDouble()));
        Assert.Equal([96, 48, 24], rows.Select(r => r.GetProperty("active_tokens").GetInt32()));
        foreach (var row in rows)
        {
            Assert.Equal(2, row.GetProperty("samples_ms").GetArrayLength());
            Assert.True(row.GetProperty("median_ms").GetDouble() > 0);
            Assert.True(row.GetProperty("flops").GetDouble() > 0);
            Assert.True(row.GetProperty("efficiency").GetDouble() > 0);
        }

        Assert.True(rows[2].GetProperty("ideal_speedup").GetDouble() > rows[1].GetProperty("ideal_speedup").GetDouble());
        foreach (string key in new[] { "cpu", "threads", "libtorch", "commit" })
        {
            Assert.True(document.RootElement.GetProperty("machine").TryGetProperty(key, out _), key);
        }
    }

    [Fact]
    public void Bench_loop_reports_memory_per_step()
    {
        string json = temp.File("loop.json");
        var result = CliRunner.Run("bench", "--model", model, "--height", "128", "--width", "128", "--text-tokens", "5", "--steps", "6", "--sample-ratio", "0.5", "--scheduler-start-step", "2", "--error-reset-steps", "", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.Equal(6, document.RootElement.GetProperty("rss_after_step_bytes").GetArrayLength());
        Assert.Equal([64, 64, 32, 32, 32, 32], document.RootElement.GetProperty("tokens_per_step").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(document.RootElement.GetProperty("kv_cache_bytes").GetInt64() > 0);
    }

    [Fact]
    public void Bench_needs_exactly_one_model_source()
    {
        Assert.Equal(2, CliRunner.Run("bench").ExitCode);
        Assert.Equal(2, CliRunner.Run("bench", "--synthetic", "sd9").ExitCode);
        Assert.Equal(2, CliRunner.Run("bench", "--synthetic", "sd3-medium", "--layers", "1", "--weight-storage", "stored").ExitCode);
    }

    [Fact]
    public void Bench_runs_a_quantized_transformer_folder_kept_packed()
    {
        // A transformer folder whose weights are a GGUF in diffusers' names (as synth-pipeline --transformer-weights writes).
        string transformer = Path.Combine(model, "transformer");
        string packed = temp.File("packed");
        Directory.CreateDirectory(packed);
        File.Copy(Path.Combine(transformer, "config.json"), Path.Combine(packed, "config.json"));
        TinyGgufFiles.FromSafetensors(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"), Path.Combine(packed, "diffusion_pytorch_model.gguf"), "sd3");
        foreach (string storage in new[] { "stored", "full" })
        {
            var result = CliRunner.Run("bench", "--model", packed, "--weight-storage", storage, "--height", "64", "--width", "64", "--text-tokens", "5", "--ratios", "1", "--repeat", "1");
            Assert.True(result.ExitCode == 0, result.Error);
            Assert.Contains("load:", result.Out, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bench_times_weight_forms_side_by_side_and_leaves_no_folder()
    {
        string json = temp.File("forms.json");
        var before = Directory.GetDirectories(Path.GetTempPath(), "ras-bench-*").ToHashSet();
        var result = CliRunner.Run("bench", "--synthetic", "sd3-medium", "--layers", "1", "--height", "64", "--width", "64", "--text-tokens", "5",
            "--weights", "f32,q8_0,fp8,q4_k,bf16", "--ratios", "0.5", "--repeat", "1", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var rows = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["f32", "f32", "q8_0", "q8_0", "fp8", "fp8", "q4_k", "q4_k", "bf16", "bf16"], rows.Select(r => r.GetProperty("weights").GetString()));
        Assert.Equal([1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5], rows.Select(r => r.GetProperty("ratio").GetDouble()));
        Assert.All(rows.Take(2), r => Assert.Equal(1.0, r.GetProperty("time_vs_first_weights").GetDouble()));
        Assert.All(rows, r => Assert.True(r.GetProperty("median_ms").GetDouble() > 0));
        Assert.Equal(4, result.Out.Split('\n').Count(l => l.Contains("loaded kept in that form", StringComparison.Ordinal)));
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "ras-bench-*"), d => !before.Contains(d));
    }

    [Fact]
    public void Bench_without_f32_builds_no_float32_model()
    {
        var result = CliRunner.Run("bench", "--synthetic", "flux-dev", "--layers", "1", "--single-layers", "0", "--height", "64", "--width", "64", "--text-tokens", "4",
            "--weights", "q4_k", "--ratios", "1", "--repeat", "1");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.DoesNotContain("f32", result.Out.Split('\n').Single(l => l.StartsWith("load:", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Matches("\n1 +[0-9]+ +4 ", result.Out);   // a single form: the plain table
    }

    [Theory]
    [InlineData("--weights", "q3_k")]
    [InlineData("--weights", "f32,f32")]
    [InlineData("--weights", "")]
    public void Bench_rejects_bad_weight_forms(string flag, string value)
    {
        var result = CliRunner.Run("bench", "--synthetic", "sd3-medium", "--layers", "1", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: weights: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_weights_apply_to_synthetic_models_only()
    {
        var result = CliRunner.Run("bench", "--model", model, "--weights", "q8_0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--weight-storage", result.Error, StringComparison.Ordinal);
        Assert.Equal(2, CliRunner.Run("bench", "--synthetic", "sd3-medium", "--layers", "1", "--weights", "f32,q8_0", "--steps", "2").ExitCode);
    }
}

using System.Text;
using System.Text.Json;
using Ras.IO.Images;
using Ras.IO.Safetensors;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Cli.Tests.Commands;

/// <summary><c>ras generate</c>, <c>ras denoise</c> and <c>ras info</c> on a tiny Lumina-Next pipeline folder.</summary>
public sealed class LuminaCommandTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly string model;

    public LuminaCommandTests()
    {
        model = TinyLuminaPipelines.Write(temp.File("lumina"));
    }

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Generate_detects_the_family_and_writes_a_batch_with_ras()
    {
        var result = CliRunner.Run("generate", "A Cat", "--model", model, "--steps", "6", "--seed", "3", "--width", "128", "--height", "96",
            "--batch", "2", "--sample-ratio", "0.5", "--scheduler-start-step", "2", "--error-reset-steps", "", "--out", temp.File("cat.png"));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("Lumina-Next (folder", result.Out, StringComparison.Ordinal);
        Assert.Contains("steps:    6 (2 dense, 4 RAS)", result.Out, StringComparison.Ordinal);
        Assert.Contains("tokens:   per step [48 48 24 24 24 24]", result.Out, StringComparison.Ordinal);
        RgbImage first = ImageReader.Read(temp.File("cat-0.png"));
        RgbImage second = ImageReader.Read(temp.File("cat-1.png"));
        Assert.Equal((128, 96), (first.Width, first.Height));
        Assert.NotEqual(first.Rgb, second.Rgb);
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(temp.File("cat-1.png")));
        Assert.Contains("parameters\0A Cat\nSteps: 6, Sampler: Euler, CFG scale: 4", text, StringComparison.Ordinal);
        Assert.Contains("CFG scale: 4, Seed: 4, Size: 128x96, Model hash: ", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_ras_uses_the_lumina_recommendation_scaled_to_the_image()
    {
        var result = CliRunner.Run("generate", "a cat", "--model", model, "--steps", "2", "--seed", "3", "--width", "128", "--height", "96", "--ras",
            "--scheduler-start-step", "1", "--out", temp.File("cat.png"));
        Assert.True(result.ExitCode == 0, result.Error);

        // 48 tokens: skip_num_step round(256 · 48 / 4096) = 3 every 4 steps.
        Assert.Contains("sample-ratio 0.5, metric std, high-ratio 1, starvation-scale 0.1", result.Out, StringComparison.Ordinal);
        Assert.Contains("skip-num-step 3, skip-num-step-length 4", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-t5", "--no-t5")]
    [InlineData("max-sequence-length", "--max-sequence-length", "77")]
    [InlineData("width", "--ras", "--width", "8")]
    public void Generate_rejects_bad_options_naming_them(string named, params string[] flags)
    {
        var result = CliRunner.Run(["generate", "a cat", "--model", model, "--steps", "2", "--out", temp.File("x.png"), .. flags]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.png")));
    }

    [Fact]
    public void Denoise_draws_latents_from_a_seed_and_reads_masks()
    {
        string inputs = Inputs(guidance: true);
        string[] Args(string file) => ["denoise", "--model", model, "--inputs", inputs, "--out", temp.File(file), "--steps", "3", "--seed", "42", "--width", "128", "--height", "96"];
        var first = CliRunner.Run(Args("a.safetensors"));
        var second = CliRunner.Run(Args("b.safetensors"));
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("LuminaNextDiT2DModel, 2 layers, 4×8 heads (2 kv)", first.Out, StringComparison.Ordinal);
        Assert.Contains("guidance 4 (CFG on)", first.Out, StringComparison.Ordinal);
        Assert.Contains("scaling-watershed 1, proportional-attn true", first.Out, StringComparison.Ordinal);
        using var a = SafetensorsFile.Open(temp.File("a.safetensors"));
        using var b = SafetensorsFile.Open(temp.File("b.safetensors"));
        using Tensor la = a.Read("latents");
        using Tensor lb = b.Read("latents");
        Assert.Equal([2, 4, 12, 16], la.shape);
        Assert.True(TensorAssert.Same(la, lb));

        var noProportional = CliRunner.Run(["denoise", "--model", model, "--inputs", inputs, "--out", temp.File("c.safetensors"), "--steps", "3", "--seed", "42",
            "--width", "128", "--height", "96", "--proportional-attn", "false"]);
        Assert.True(noProportional.ExitCode == 0, noProportional.Error);
        using var c = SafetensorsFile.Open(temp.File("c.safetensors"));
        using Tensor lc = c.Read("latents");
        Assert.False(TensorAssert.Same(la, lc), "proportional attention off the trained size changes the result");
    }

    [Theory]
    [InlineData("prompt_attention_mask", "--guidance", "1")]
    [InlineData("negative_prompt_embeds", "--guidance", "4")]
    [InlineData("proportional-attn", "--proportional-attn", "maybe")]
    [InlineData("scaling-watershed", "--scaling-watershed", "NaN")]
    public void Denoise_bad_input_exits_2_naming_it(string named, string flag, string value)
    {
        string inputs = Inputs(guidance: named != "negative_prompt_embeds", mask: named != "prompt_attention_mask");
        var result = CliRunner.Run("denoise", "--model", model, "--inputs", inputs, "--out", temp.File("x.safetensors"), "--steps", "2", "--seed", "1", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.File("x.safetensors")));
    }

    [Fact]
    public void Denoise_rejects_lumina_flags_for_sd3_transformers()
    {
        using var sd3 = new TempDirectory();
        string folder = TinyModels.WriteSd3Folder(sd3.Path);
        var result = CliRunner.Run("denoise", "--model", folder, "--inputs", Path.Combine(folder, "inputs.safetensors"), "--out", temp.File("x.safetensors"),
            "--steps", "2", "--scaling-watershed", "0.5");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("scaling-watershed", result.Error, StringComparison.Ordinal);
        Assert.Contains("LuminaNextDiT2DModel", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_describes_a_lumina_transformer()
    {
        var result = CliRunner.Run("info", "--model", model);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("class:         LuminaNextDiT2DModel", result.Out, StringComparison.Ordinal);
        Assert.Contains("2 blocks, 4 heads × 8 = 32 wide (2 kv heads)", result.Out, StringComparison.Ordinal);
        Assert.Contains("caption 24", result.Out, StringComparison.Ordinal);
        Assert.Contains("native 128 px", result.Out, StringComparison.Ordinal);
        Assert.Contains("FlowMatchEulerDiscreteScheduler, shift 1", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_synthetic_lumina_next_counts_lumina_flops()
    {
        string json = temp.File("bench.json");
        var result = CliRunner.Run("bench", "--synthetic", "lumina-next", "--layers", "1", "--height", "128", "--width", "128", "--ratios", "0.5",
            "--repeat", "1", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("synthetic lumina-next (random weights, 1 layers): LuminaNextDiT2DModel, 1 layers, 32×72 heads (8 kv)", result.Out, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var rows = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([64, 32], rows.Select(r => r.GetProperty("active_tokens").GetInt32()));
        Assert.All(rows, r => Assert.Equal(256, r.GetProperty("text_tokens").GetInt32()));
        var config = new Ras.Models.Lumina.LuminaNextDiT2DModelConfig
        {
            HiddenSize = 2304, NumLayers = 1, NumAttentionHeads = 32, NumKvHeads = 8, MultipleOf = 256, CrossAttentionDim = 2048,
        };
        Assert.Equal(Ras.Models.Lumina.LuminaFlopCount.Forward(config, 2, 64, 32, 256), rows[1].GetProperty("flops").GetDouble());
        Assert.Equal(8, document.RootElement.GetProperty("config").GetProperty("kv_heads").GetInt32());
    }

    [Fact]
    public void Bench_loop_runs_a_lumina_folder()
    {
        string json = temp.File("loop.json");
        var result = CliRunner.Run("bench", "--model", model, "--height", "128", "--width", "96", "--text-tokens", "5", "--steps", "4", "--sample-ratio", "0.5",
            "--scheduler-start-step", "2", "--error-reset-steps", "", "--json", json);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("guidance 4 (CFG on)", result.Out, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.Equal([48, 48, 24, 24], document.RootElement.GetProperty("tokens_per_step").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(document.RootElement.GetProperty("kv_cache_bytes").GetInt64() > 0);
    }

    /// <summary>Two prompts' caption features (the second with 3 of 5 tokens valid) and, with guidance, a negative.</summary>
    private string Inputs(bool guidance, bool mask = true)
    {
        string path = temp.File($"inputs-{guidance}-{mask}.safetensors");
        using var scope = NewDisposeScope();
        manual_seed(9);
        var tensors = new Dictionary<string, Tensor> { ["prompt_embeds"] = randn(2, 5, TinyLuminaPipelines.GemmaHidden) };
        if (mask)
        {
            tensors["prompt_attention_mask"] = tensor(new long[] { 1, 1, 1, 1, 1, 0, 0, 1, 1, 1 }, [2, 5]);
        }

        if (guidance)
        {
            tensors["negative_prompt_embeds"] = randn(1, 5, TinyLuminaPipelines.GemmaHidden);
            tensors["negative_prompt_attention_mask"] = tensor(new long[] { 0, 0, 0, 1, 1 }, [1, 5]);
        }

        SafetensorsWriter.Write(path, tensors);
        return path;
    }
}

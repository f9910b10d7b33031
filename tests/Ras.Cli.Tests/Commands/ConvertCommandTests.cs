using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Cli.Tests.Commands;

/// <summary><c>ras convert</c> and <c>ras info</c> on single checkpoint files (GGUF, fp8 safetensors).</summary>
public sealed class ConvertCommandTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>The fixture contract: the converted file has exactly the expected tensors, float32, row-major, every value equal.</summary>
    [FixtureCases("gguf")]
    [Trait("Category", "Fixtures")]
    public void Every_gguf_fixture_converts_bit_for_bit(string caseName)
    {
        using var fixture = FixtureCase.Open("gguf", caseName);
        string output = temp.File("out.safetensors");
        var result = CliRunner.Run("convert", fixture.PathOf(fixture.Json.GetProperty("input").GetString()!), "--out", output);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("wrote " + output, result.Out, StringComparison.Ordinal);

        using var actual = SafetensorsFile.Open(output);
        using var expected = SafetensorsFile.Open(fixture.PathOf(fixture.Json.GetProperty("expected").GetString()!));
        Assert.Equal(expected.Entries.Keys.Order(StringComparer.Ordinal), actual.Entries.Keys.Order(StringComparer.Ordinal));
        foreach (string name in expected.Entries.Keys)
        {
            Assert.Equal("F32", actual.Get(name).StoredDType);
            using var scope = NewDisposeScope();
            TensorAssert.Exact(expected.Read(name), actual.Read(name), name);
        }
    }

    [Fact]
    public void Dtype_option_writes_half_precision_and_keeps_names()
    {
        string input = new GgufWriter().String("general.architecture", "test")
            .Quantized("model.diffusion_model.blk.weight", GgufTensorType.Q8_0, [2, 32], Enumerable.Range(0, 64).Select(i => i / 8f).ToArray())
            .Tensor("norm", GgufTensorType.F32, [3], GgufWriter.F32(1, 2, 3))
            .Write(temp.File("in.gguf"));
        string output = temp.File("half.safetensors");
        var result = CliRunner.Run("convert", input, "--out", output, "--dtype", "bf16");
        Assert.True(result.ExitCode == 0, result.Error);
        using var file = SafetensorsFile.Open(output);
        Assert.Equal(["model.diffusion_model.blk.weight", "norm"], file.Entries.Keys.Order(StringComparer.Ordinal));
        Assert.All(file.Entries.Values, e => Assert.Equal("BF16", e.StoredDType));
        Assert.Equal(new long[] { 2, 32 }, file.Get("model.diffusion_model.blk.weight").Shape);
    }

    [Fact]
    public void Bad_input_exits_2_and_writes_nothing()
    {
        string output = temp.File("never.safetensors");
        byte[] good = new GgufWriter().Tensor("a", GgufTensorType.F32, [64], new byte[256]).Build();
        string truncated = temp.File("truncated.gguf");
        File.WriteAllBytes(truncated, good[..^100]);
        string unsupported = new GgufWriter().Tensor("ok", GgufTensorType.F32, [1], GgufWriter.F32(1))
            .Tensor("iq", GgufTensorType.IQ4_XS, [1, 256], new byte[136]).Write(temp.File("iq.gguf"));
        string notAModel = temp.File("random.safetensors");
        File.WriteAllBytes(notAModel, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

        foreach (var (input, message) in new[]
        {
            (truncated, "tensor 'a'"), (unsupported, "tensor 'iq': has type IQ4_XS (23)"), (notAModel, "header length"), (temp.File("absent.gguf"), "no such file"),
        })
        {
            var result = CliRunner.Run("convert", input, "--out", output);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains(input, result.Error, StringComparison.Ordinal);
            Assert.Contains(message, result.Error, StringComparison.Ordinal);
            Assert.False(File.Exists(output));
        }

        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp"));
        Assert.Equal(2, CliRunner.Run("convert", unsupported, "--out", output, "--dtype", "f64").ExitCode);
        Assert.Equal(2, CliRunner.Run("convert", unsupported, "--out", unsupported).ExitCode);
        Assert.Equal(2, CliRunner.Run("convert", unsupported).ExitCode);   // --out is required
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Info_describes_a_gguf_file_family_types_and_metadata()
    {
        string gguf = new GgufWriter().String("general.architecture", "flux")
            .Tensor("double_blocks.0.img_attn.norm.key_norm.scale", GgufTensorType.F32, [4], new byte[16]).Write(temp.File("flux.gguf"));
        var result = CliRunner.Run("info", "--model", gguf);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("format:        GGUF v3", result.Out, StringComparison.Ordinal);
        Assert.Contains("family:        FLUX.1", result.Out, StringComparison.Ordinal);
        Assert.Contains("general.architecture (STRING) = \"flux\"", result.Out, StringComparison.Ordinal);
        Assert.Contains(" F32 ", result.Out, StringComparison.Ordinal);

        string other = new GgufWriter().String("general.architecture", "sdxl").Strings("long", Enumerable.Range(0, 500).Select(i => $"token{i}").ToArray())
            .Tensor("input_blocks.0.0.weight", GgufTensorType.F16, [2], new byte[4]).Write(temp.File("sdxl.gguf"));
        result = CliRunner.Run("info", "--model", other);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("none recognised (GGUF general.architecture is 'sdxl'", result.Out, StringComparison.Ordinal);
        Assert.Contains("long (ARRAY) = STRING[500] [\"token0\"", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("token400", result.Out, StringComparison.Ordinal);
    }
}

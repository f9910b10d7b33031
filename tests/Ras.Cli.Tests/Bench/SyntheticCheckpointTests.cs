using Ras.Cli.Bench;
using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Cli.Tests.Bench;

public sealed class SyntheticCheckpointTests : IDisposable
{
    private static readonly (string Key, long[] Shape)[] Tensors = [("blocks.0.weight", [8, 512]), ("blocks.0.bias", [8]), ("odd.weight", [3, 40])];
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(GgufTensorType.Q8_0, 0.4)]
    [InlineData(GgufTensorType.Q4_K, 0.11)]
    public void Random_gguf_values_are_finite_small_and_varied(GgufTensorType type, double bound)
    {
        string path = temp.File("w.gguf");
        SyntheticCheckpoint.WriteGguf(path, Tensors, type, "sd3", new Random(1));
        using var file = GgufFile.Open(path);
        Assert.Equal(type, file.Get("blocks.0.weight").Type);
        Assert.Equal(GgufTensorType.F32, file.Get("odd.weight").Type);   // rows are not whole blocks
        foreach ((string key, _) in Tensors)
        {
            using Tensor values = file.Read(key);
            AssertRandomAndBounded(values, bound);
        }
    }

    [Theory]
    [InlineData("F8_E4M3", 0.12)]
    [InlineData("BF16", 0.1)]
    public void Random_safetensors_values_are_finite_small_and_varied(string dtype, double bound)
    {
        string path = temp.File("w.safetensors");
        SyntheticCheckpoint.WriteSafetensors(path, Tensors, dtype, "F32", new Random(1));
        using var file = SafetensorsFile.Open(path);
        foreach ((string key, _) in Tensors)
        {
            using Tensor values = file.Read(key, ScalarType.Float32);
            AssertRandomAndBounded(values, bound);
        }
    }

    [Fact]
    public void Without_random_the_data_is_a_hole_of_zeros()
    {
        string path = temp.File("z.gguf");
        long bytes = SyntheticCheckpoint.WriteGguf(path, Tensors, GgufTensorType.Q8_0, "sd3");
        Assert.True(bytes > 0);
        using var file = GgufFile.Open(path);
        using Tensor values = file.Read("blocks.0.weight");
        Assert.Equal(0, values.abs().max().item<float>());
    }

    private static void AssertRandomAndBounded(Tensor values, double bound)
    {
        using var scope = NewDisposeScope();
        Assert.True(values.isfinite().all().item<bool>());
        Assert.True(values.abs().max().item<float>() <= bound, $"max {values.abs().max().item<float>()} > {bound}");
        Assert.True(values.std().item<float>() > bound / 50, "values vary");
    }
}

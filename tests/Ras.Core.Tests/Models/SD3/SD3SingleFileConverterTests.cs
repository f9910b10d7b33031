using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.SD3;

public sealed class SD3SingleFileConverterTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>Writes <paramref name="model"/> in Stability's single-file layout (the converter's map, inverted).</summary>
    internal static string WriteSingleFile(SD3Transformer2DModel model, string path, string prefix = SD3SingleFileConverter.Prefix)
    {
        var config = model.Config;
        ForeignLayout.Write(path, model.state_dict(), source => SD3SingleFileConverter.Convert(source, config), key =>
            key.StartsWith(prefix, StringComparison.Ordinal) && (config.QkNorm == QkNorm.RmsNorm || !key.Contains("ln_", StringComparison.Ordinal)));
        return path;
    }

    [Theory]
    [InlineData(QkNorm.None, new int[0], SD3SingleFileConverter.Prefix)]
    [InlineData(QkNorm.RmsNorm, new[] { 0 }, "")]
    public void Single_file_layout_loads_to_the_same_weights_and_output(QkNorm qk, int[] dual, string prefix)
    {
        var config = TinyModels.Config(layers: 3, qkNorm: qk, dual: dual);
        using var model = TinyModels.Model(config);
        string path = WriteSingleFile(model, temp.File("single.safetensors"), prefix);

        using var store = TensorStore.OpenFile(path);
        Assert.True(SD3SingleFileConverter.Matches(store));
        var inferred = SD3SingleFileConverter.InferConfig(store) with { AttentionHeadDim = config.AttentionHeadDim, NumAttentionHeads = config.NumAttentionHeads, SampleSize = config.SampleSize };
        Assert.Equal(config.NumLayers, inferred.NumLayers);
        Assert.Equal(config.PosEmbedMaxSize, inferred.PosEmbedMaxSize);
        Assert.Equal(config.QkNorm, inferred.QkNorm);
        Assert.Equal(config.DualAttentionLayers, inferred.DualAttentionLayers);
        Assert.Equal(config.OutChannels, inferred.OutChannels);
        using var loaded = new SD3Transformer2DModel(inferred);
        StateDictBinder.Load(loaded, SD3SingleFileConverter.Convert(store, inferred));

        var expected = model.state_dict();
        var actual = loaded.state_dict();
        Assert.All(expected.Keys, k => Assert.True(TensorAssert.Same(expected[k], actual[k]), k));
    }

    [Fact]
    public void Head_width_64_is_the_family_standard_when_inferring()
    {
        var config = TinyModels.Config() with { NumAttentionHeads = 2, AttentionHeadDim = 64, CaptionProjectionDim = 128 };
        using var model = new SD3Transformer2DModel(config);
        string path = WriteSingleFile(model, temp.File("sd3.safetensors"));
        using var store = TensorStore.OpenFile(path);
        var inferred = SD3SingleFileConverter.InferConfig(store);
        Assert.Equal(2, inferred.NumAttentionHeads);
        Assert.Equal(64, inferred.AttentionHeadDim);
        Assert.Equal(12, inferred.JointAttentionDim);
        Assert.Equal(10, inferred.PooledProjectionDim);
    }
}

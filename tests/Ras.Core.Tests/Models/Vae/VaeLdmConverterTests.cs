using Ras.IO.Checkpoints;
using Ras.Models.Vae;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Vae;

public sealed class VaeLdmConverterTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ldm_layout_loads_to_the_same_weights(bool quantConvs)
    {
        var config = new AutoencoderKLConfig
        {
            LatentChannels = 4, BlockOutChannels = [8, 16, 16], LayersPerBlock = 2, NormNumGroups = 4,
            UseQuantConv = quantConvs, UsePostQuantConv = quantConvs, ScalingFactor = 1.5, ShiftFactor = 0.1,
        };
        manual_seed(3);
        using var vae = new AutoencoderKL(config);
        string path = temp.File("vae.safetensors");
        ForeignLayout.Write(path, vae.state_dict(), source => VaeLdmConverter.Convert(source, config),
            key => key.StartsWith(VaeLdmConverter.Prefix, StringComparison.Ordinal));

        using var store = TensorStore.OpenFile(path);
        Assert.True(VaeLdmConverter.Matches(store));
        Assert.Contains(VaeLdmConverter.Prefix + "decoder.up.2.block.2.conv1.weight", store.Keys);   // bottom-up numbering
        Assert.Equal([16L, 16, 1, 1], store.ShapeOf(VaeLdmConverter.Prefix + "encoder.mid.attn_1.q.weight"));  // attention as 1×1 convs
        manual_seed(4);
        using var loaded = new AutoencoderKL(config);
        StateDictBinder.Load(loaded, VaeLdmConverter.Convert(store, config));
        var expected = vae.state_dict();
        var actual = loaded.state_dict();
        Assert.All(expected.Keys, k => Assert.True(TensorAssert.Same(expected[k], actual[k]), k));
    }
}

using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Models.Vae;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Vae;

/// <summary>A VAE's architecture read back from its tensor shapes, in the original (LDM / BFL) and in diffusers' layout.</summary>
public sealed class VaeShapesTests : IDisposable
{
    private static readonly AutoencoderKLConfig Standard = new()
    {
        LatentChannels = 16, BlockOutChannels = [128, 256, 512, 512], LayersPerBlock = 2, NormNumGroups = 4, ScalingFactor = 0.3611, ShiftFactor = 0.1159,
        UseQuantConv = false, UsePostQuantConv = false,
    };

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(false, "")]
    [InlineData(true, "")]
    [InlineData(true, "first_stage_model.")]
    public void Every_shape_given_field_is_read_and_the_rest_kept(bool ldm, string prefix)
    {
        var config = new AutoencoderKLConfig
        {
            InChannels = 3, OutChannels = 3, LatentChannels = 4, BlockOutChannels = [8, 16, 16], LayersPerBlock = 3, NormNumGroups = 4,
            UseQuantConv = true, UsePostQuantConv = false, ScalingFactor = 9, ShiftFactor = 9,
        };
        manual_seed(3);
        using var vae = new AutoencoderKL(config);
        string path = temp.File("vae.safetensors");
        if (ldm)
        {
            ForeignLayout.Write(path, vae.state_dict(), source => VaeLdmConverter.Convert(source, config, prefix), key => key.StartsWith(prefix, StringComparison.Ordinal));
        }
        else
        {
            SafetensorsWriter.Write(path, vae.state_dict());
        }

        using var store = TensorStore.OpenFile(path);
        AutoencoderKLConfig inferred = VaeShapes.Infer(store, prefix, Standard);
        Assert.Equal(config.BlockOutChannels, inferred.BlockOutChannels);
        Assert.Equal((3, 3, 4, 3), (inferred.InChannels, inferred.OutChannels, inferred.LatentChannels, inferred.LayersPerBlock));
        Assert.Equal((true, false, true), (inferred.UseQuantConv, inferred.UsePostQuantConv, inferred.MidBlockAddAttention));
        Assert.Equal((0.3611, 0.1159, 4), (inferred.ScalingFactor, inferred.ShiftFactor, inferred.NormNumGroups));   // not in the shapes: the standard's

        // The inferred config binds the file strictly.
        using var loaded = new AutoencoderKL(inferred);
        StateDictBinder.Load(loaded, ldm ? VaeLdmConverter.Convert(store, inferred, prefix) : store);
    }

    [Fact]
    public void A_file_without_a_vae_leaves_the_standard_config()
    {
        string path = temp.File("other.safetensors");
        using (Tensor value = ones(2, 2))
        {
            SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["text_model.embeddings.token_embedding.weight"] = value });
        }

        using var store = TensorStore.OpenFile(path);
        Assert.Same(Standard, VaeShapes.Infer(store, string.Empty, Standard));
    }
}

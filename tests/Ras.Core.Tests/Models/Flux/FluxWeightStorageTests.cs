using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Models.Common;
using Ras.Models.Flux;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Flux;

/// <summary>Half-precision storage with per-block upcast (double- and single-stream blocks) computes exactly what float32 weights compute.</summary>
[Collection(SerialCollection.Name)]   // the stored mode switches libtorch's process-wide default dtype while building
public sealed class FluxWeightStorageTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Stored_half_flux_transformer_matches_float32_bit_for_bit(ScalarType dtype)
    {
        var config = FluxTinyModels.Config(guidance: true, layers: 2, singleLayers: 2);
        using (var model = FluxTinyModels.Model(config))
        using (var scope = NewDisposeScope())
        {
            File.WriteAllText(temp.File("config.json"), config.ToJson());
            SafetensorsWriter.Write(temp.File("diffusion_pytorch_model.safetensors"), model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to_type(dtype)));
        }

        using var full = FluxTransformer2DModel.FromPretrained(temp.Path, storage: WeightStorage.FullPrecision);
        using var stored = FluxTransformer2DModel.FromPretrained(temp.Path, storage: WeightStorage.Stored);
        var weights = Assert.IsType<UpcastOnUse>(stored.BlockWeights);
        Assert.Equal(config.NumLayers + config.NumSingleLayers, stored.Blocks.Count);
        long blockElements = full.Blocks.SelectMany(b => b.parameters()).Sum(p => p.numel());
        long allElements = full.parameters().Sum(p => p.numel());
        Assert.Equal(allElements, blockElements + full.ResidentModules.SelectMany(m => m.parameters()).Sum(p => p.numel()));   // nothing left out
        Assert.Equal(blockElements * 2, weights.StoredBytes);
        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));
        Assert.All(stored.ResidentModules.SelectMany(m => m.parameters()), p => Assert.Equal(ScalarType.Float32, p.dtype));

        using var forward = NewDisposeScope();
        using var inference = inference_mode();
        var (text, pooled) = FluxTinyModels.Prompts(config, 2);
        Tensor latents = FluxLatents.Pack(FluxTinyModels.Latents(config, 2, 6, 8));
        Tensor Run(FluxTransformer2DModel m) => m.Forward(latents, text, pooled, tensor(new[] { 0.9f, 0.3f }), tensor(new[] { 3.5f, 3.5f }),
            FluxLatents.ImageIds(3, 4), FluxLatents.TextIds(text.shape[1]));
        Tensor expected = Run(full);
        Assert.True(TensorAssert.Same(expected, Run(stored)), "stored half weights differ from float32");
        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));     // emptied again after use
        Assert.True(TensorAssert.Same(expected, Run(stored)), "a second forward gives the same result");
    }
}

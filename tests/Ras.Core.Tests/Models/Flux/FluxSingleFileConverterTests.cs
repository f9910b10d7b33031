using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Models.Flux;
using Ras.Models.SD3;
using Ras.Tests.Models.SD3;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Flux;

public sealed class FluxSingleFileConverterTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData(true, FluxSingleFileConverter.Prefix)]
    [InlineData(true, "")]
    [InlineData(false, FluxSingleFileConverter.Prefix)]
    [InlineData(false, "")]
    public void Bfl_layout_loads_to_the_same_weights_and_the_same_output(bool guidance, string prefix)
    {
        var config = FluxTinyModels.Config(guidance, layers: 2, singleLayers: 3);
        using var model = FluxTinyModels.Model(config);
        string path = BflLayout.Write(model, temp.File("flux.safetensors"), prefix);

        using var store = TensorStore.OpenFile(path);
        Assert.True(FluxSingleFileConverter.Matches(store));
        Assert.True(FluxSingleFileConverter.Matches(store.Keys));
        Assert.False(SD3SingleFileConverter.Matches(store));
        var inferred = FluxSingleFileConverter.InferConfig(store);
        Assert.Equal([16, 56, 56], inferred.AxesDimsRope);                      // FLUX.1's standard: not inferable
        inferred = inferred with { AxesDimsRope = config.AxesDimsRope };
        Assert.Equal(config.ToJson(), inferred.ToJson());

        using var loaded = new FluxTransformer2DModel(inferred);
        StateDictBinder.Load(loaded, FluxSingleFileConverter.Convert(store, inferred));
        var expected = model.state_dict();
        var actual = loaded.state_dict();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        Assert.All(expected.Keys, k => Assert.True(TensorAssert.Same(expected[k], actual[k]), k));

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var (text, pooled) = FluxTinyModels.Prompts(config, 2);
        Tensor latents = FluxLatents.Pack(FluxTinyModels.Latents(config, 2, 6, 10));
        Tensor Run(FluxTransformer2DModel m) => m.Forward(latents, text, pooled, tensor(new[] { 0.9f, 0.25f }), tensor(new[] { 3.5f, 3.5f }),
            FluxLatents.ImageIds(3, 5), FluxLatents.TextIds(text.shape[1]));
        Assert.True(TensorAssert.Same(Run(model), Run(loaded)), "the converted model's output differs");
    }

    [Fact]
    public void Final_modulation_halves_are_swapped_to_scale_first()
    {
        var config = FluxTinyModels.Config(layers: 1, singleLayers: 1);
        using var model = FluxTinyModels.Model(config);
        using var store = TensorStore.OpenFile(BflLayout.Write(model, temp.File("flux.safetensors"), ""));
        MappedTensorSource view = FluxSingleFileConverter.Convert(store, config);
        Assert.True(view.MappingOf("norm_out.linear.weight").SwapHalves);
        Assert.Equal(TensorMapping.Rows("single_blocks.0.linear1.weight", 48, 64), view.MappingOf("single_transformer_blocks.0.proj_mlp.weight"));
        Assert.Equal([64, 16], view.ShapeOf("single_transformer_blocks.0.proj_mlp.weight"));
        Assert.Equal([16], view.ShapeOf("transformer_blocks.0.attn.add_v_proj.bias"));
    }

    [Fact]
    public void Detection_tells_flux_from_sd3_and_from_diffusers_layouts()
    {
        using var sd3 = SD3Transformer2DModelForDetection();
        string sd3Path = SD3SingleFileConverterTests.WriteSingleFile(sd3, temp.File("sd3.safetensors"));
        using (var store = TensorStore.OpenFile(sd3Path))
        {
            Assert.False(FluxSingleFileConverter.Matches(store));
            Assert.Throws<RasInputException>(() => FluxSingleFileConverter.InferConfig(store));
        }

        using var flux = new FluxTransformer2DModel(FluxTinyModels.Config());
        Assert.False(FluxSingleFileConverter.Matches(flux.state_dict().Keys));            // diffusers names
        Assert.True(FluxSingleFileConverter.Matches(["model.diffusion_model.double_blocks.0.img_attn.norm.key_norm.scale"]));
    }

    [Fact]
    public void An_mlp_ratio_other_than_4_is_rejected()
    {
        using var model = FluxTinyModels.Model(FluxTinyModels.Config(layers: 1, singleLayers: 1));
        string path = BflLayout.Write(model, temp.File("flux.safetensors"), "", tensors =>
        {
            using var scope = NewDisposeScope();
            tensors["double_blocks.0.img_mlp.0.weight"] = tensors["double_blocks.0.img_mlp.0.weight"].narrow(0, 0, 48).contiguous().MoveToOuterDisposeScope();
        });
        using var store = TensorStore.OpenFile(path);
        var error = Assert.Throws<RasInputException>(() => FluxSingleFileConverter.InferConfig(store));
        Assert.Contains("mlp_ratio", error.Message, StringComparison.Ordinal);
    }

    private static SD3Transformer2DModel SD3Transformer2DModelForDetection() => new(TinyModels.Config());
}

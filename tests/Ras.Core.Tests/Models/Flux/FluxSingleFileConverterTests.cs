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

    /// <summary>
    /// Writes a model in Black Forest Labs' layout by hand (the inverse of diffusers' conversion, written independently of
    /// the converter's key map): BFL names, q/k/v (and the single blocks' MLP input) fused along dim 0, the final adaLN as
    /// [shift, scale]. A prefixed file also carries a tensor of another component, as ComfyUI's all-in-one files do.
    /// </summary>
    private static class BflLayout
    {
        public static string Write(FluxTransformer2DModel model, string path, string prefix, Action<Dictionary<string, Tensor>>? edit = null)
        {
            var config = model.Config;
            var state = model.state_dict();
            using var scope = NewDisposeScope();
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            void Linear(string bfl, string diffusers)
            {
                tensors[bfl + ".weight"] = state[diffusers + ".weight"];
                tensors[bfl + ".bias"] = state[diffusers + ".bias"];
            }

            void Fused(string bfl, params string[] diffusers)
            {
                tensors[bfl + ".weight"] = cat(diffusers.Select(n => state[n + ".weight"]).ToArray(), 0);
                tensors[bfl + ".bias"] = cat(diffusers.Select(n => state[n + ".bias"]).ToArray(), 0);
            }

            Linear("img_in", "x_embedder");
            Linear("txt_in", "context_embedder");
            Linear("time_in.in_layer", "time_text_embed.timestep_embedder.linear_1");
            Linear("time_in.out_layer", "time_text_embed.timestep_embedder.linear_2");
            Linear("vector_in.in_layer", "time_text_embed.text_embedder.linear_1");
            Linear("vector_in.out_layer", "time_text_embed.text_embedder.linear_2");
            if (config.GuidanceEmbeds)
            {
                Linear("guidance_in.in_layer", "time_text_embed.guidance_embedder.linear_1");
                Linear("guidance_in.out_layer", "time_text_embed.guidance_embedder.linear_2");
            }

            for (int i = 0; i < config.NumLayers; i++)
            {
                string b = $"double_blocks.{i}.";
                string t = $"transformer_blocks.{i}.";
                Linear(b + "img_mod.lin", t + "norm1.linear");
                Linear(b + "txt_mod.lin", t + "norm1_context.linear");
                Fused(b + "img_attn.qkv", t + "attn.to_q", t + "attn.to_k", t + "attn.to_v");
                Fused(b + "txt_attn.qkv", t + "attn.add_q_proj", t + "attn.add_k_proj", t + "attn.add_v_proj");
                tensors[b + "img_attn.norm.query_norm.scale"] = state[t + "attn.norm_q.weight"];
                tensors[b + "img_attn.norm.key_norm.scale"] = state[t + "attn.norm_k.weight"];
                tensors[b + "txt_attn.norm.query_norm.scale"] = state[t + "attn.norm_added_q.weight"];
                tensors[b + "txt_attn.norm.key_norm.scale"] = state[t + "attn.norm_added_k.weight"];
                Linear(b + "img_attn.proj", t + "attn.to_out.0");
                Linear(b + "txt_attn.proj", t + "attn.to_add_out");
                Linear(b + "img_mlp.0", t + "ff.net.0.proj");
                Linear(b + "img_mlp.2", t + "ff.net.2");
                Linear(b + "txt_mlp.0", t + "ff_context.net.0.proj");
                Linear(b + "txt_mlp.2", t + "ff_context.net.2");
            }

            for (int i = 0; i < config.NumSingleLayers; i++)
            {
                string b = $"single_blocks.{i}.";
                string t = $"single_transformer_blocks.{i}.";
                Linear(b + "modulation.lin", t + "norm.linear");
                Fused(b + "linear1", t + "attn.to_q", t + "attn.to_k", t + "attn.to_v", t + "proj_mlp");
                tensors[b + "norm.query_norm.scale"] = state[t + "attn.norm_q.weight"];
                tensors[b + "norm.key_norm.scale"] = state[t + "attn.norm_k.weight"];
                Linear(b + "linear2", t + "proj_out");
            }

            Linear("final_layer.linear", "proj_out");
            foreach (string part in new[] { "weight", "bias" })
            {
                Tensor[] halves = state["norm_out.linear." + part].chunk(2, 0);              // diffusers: scale, shift
                tensors["final_layer.adaLN_modulation.1." + part] = cat([halves[1], halves[0]], 0);
            }

            edit?.Invoke(tensors);
            var file = tensors.ToDictionary(kv => prefix + kv.Key, kv => kv.Value.contiguous());
            if (prefix.Length > 0)
            {
                file["first_stage_model.decoder.conv_in.weight"] = zeros(4, 16, 3, 3);
            }

            SafetensorsWriter.Write(path, file);
            return path;
        }
    }
}

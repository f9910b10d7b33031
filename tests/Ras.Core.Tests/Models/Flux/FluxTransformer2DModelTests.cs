using Ras.Models.Common;
using Ras.Models.Flux;
using Ras.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Flux;

public sealed class FluxTransformer2DModelTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Has_exactly_the_diffusers_keys_and_shapes(bool guidance)
    {
        var config = FluxTinyModels.Config(guidance, layers: 1, singleLayers: 1);
        using var model = new FluxTransformer2DModel(config);
        static IEnumerable<string> Linear(string name) => [name + ".weight", name + ".bias"];
        var expected = new List<string>();
        foreach (string name in new[]
        {
            "x_embedder", "context_embedder", "norm_out.linear", "proj_out",
            "time_text_embed.timestep_embedder.linear_1", "time_text_embed.timestep_embedder.linear_2",
            "time_text_embed.text_embedder.linear_1", "time_text_embed.text_embedder.linear_2",
            "transformer_blocks.0.norm1.linear", "transformer_blocks.0.norm1_context.linear",
            "transformer_blocks.0.attn.to_q", "transformer_blocks.0.attn.to_k", "transformer_blocks.0.attn.to_v",
            "transformer_blocks.0.attn.add_q_proj", "transformer_blocks.0.attn.add_k_proj", "transformer_blocks.0.attn.add_v_proj",
            "transformer_blocks.0.attn.to_out.0", "transformer_blocks.0.attn.to_add_out",
            "transformer_blocks.0.ff.net.0.proj", "transformer_blocks.0.ff.net.2",
            "transformer_blocks.0.ff_context.net.0.proj", "transformer_blocks.0.ff_context.net.2",
            "single_transformer_blocks.0.norm.linear", "single_transformer_blocks.0.attn.to_q", "single_transformer_blocks.0.attn.to_k",
            "single_transformer_blocks.0.attn.to_v", "single_transformer_blocks.0.proj_mlp", "single_transformer_blocks.0.proj_out",
        })
        {
            expected.AddRange(Linear(name));
        }

        if (guidance)
        {
            expected.AddRange(Linear("time_text_embed.guidance_embedder.linear_1"));
            expected.AddRange(Linear("time_text_embed.guidance_embedder.linear_2"));
        }

        expected.AddRange(["transformer_blocks.0.attn.norm_q.weight", "transformer_blocks.0.attn.norm_k.weight",
            "transformer_blocks.0.attn.norm_added_q.weight", "transformer_blocks.0.attn.norm_added_k.weight",
            "single_transformer_blocks.0.attn.norm_q.weight", "single_transformer_blocks.0.attn.norm_k.weight"]);

        var state = model.state_dict();
        Assert.Equal(expected.Order(StringComparer.Ordinal), state.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([16, 16], state["x_embedder.weight"].shape);                                   // D = 2·8, in 16
        Assert.Equal([96, 16], state["transformer_blocks.0.norm1.linear.weight"].shape);            // 6D
        Assert.Equal([48, 16], state["single_transformer_blocks.0.norm.linear.weight"].shape);      // 3D
        Assert.Equal([16, 80], state["single_transformer_blocks.0.proj_out.weight"].shape);         // D + 4D → D
        Assert.Equal([64, 16], state["transformer_blocks.0.ff.net.0.proj.weight"].shape);           // 4D
        Assert.Equal([8], state["single_transformer_blocks.0.attn.norm_k.weight"].shape);           // head dim
        Assert.Equal([32, 16], state["norm_out.linear.weight"].shape);                              // scale, shift
        Assert.Equal([16, 256], state["time_text_embed.timestep_embedder.linear_1.weight"].shape);
    }

    [Fact]
    public void Packing_is_channel_major_per_2x2_patch_and_unpack_inverts_it_on_a_non_square_grid()
    {
        using var scope = NewDisposeScope();
        const int batch = 2, channels = 3, height = 6, width = 10;
        Tensor latents = arange(batch * channels * height * width, ScalarType.Float32).view(batch, channels, height, width);
        Tensor packed = FluxLatents.Pack(latents);
        Assert.Equal([batch, 15, 4 * channels], packed.shape);
        for (int b = 0; b < batch; b++)
        {
            for (int r = 0; r < height / 2; r++)
            {
                for (int q = 0; q < width / 2; q++)
                {
                    for (int c = 0; c < channels; c++)
                    {
                        for (int dy = 0; dy < 2; dy++)
                        {
                            for (int dx = 0; dx < 2; dx++)
                            {
                                Assert.Equal(latents[b, c, (2 * r) + dy, (2 * q) + dx].item<float>(),
                                    packed[b, (r * (width / 2)) + q, (c * 4) + (dy * 2) + dx].item<float>());
                            }
                        }
                    }
                }
            }
        }

        Assert.True(TensorAssert.Same(latents, FluxLatents.Unpack(packed, height, width)));
        Assert.Throws<ArgumentException>(() => FluxLatents.Pack(zeros(1, 3, 5, 4)));
        Assert.Throws<ArgumentException>(() => FluxLatents.Unpack(packed, height, width + 2));
    }

    [Fact]
    public void Position_ids_are_index_row_column_row_major_and_zero_for_text()
    {
        using var scope = NewDisposeScope();
        Tensor ids = FluxLatents.ImageIds(3, 5);
        Assert.Equal([15, 3], ids.shape);
        for (int k = 0; k < 15; k++)
        {
            Assert.Equal([0f, k / 5, k % 5], ids[k].data<float>().ToArray());
        }

        Tensor text = FluxLatents.TextIds(4);
        Assert.Equal([4, 3], text.shape);
        Assert.Equal(0, text.abs().sum().item<float>());
    }

    [Fact]
    public void Rope_table_follows_each_axis_width_with_interleaved_repeats()
    {
        using var scope = NewDisposeScope();
        var config = FluxTinyModels.Config();                     // axes [2, 2, 4], head dim 8
        using var embed = new FluxPosEmbed(config.AxesDimsRope);
        Tensor ids = tensor(new float[] { 0, 0, 0, 0, 2, 3, 5, 1, 7 }, [3, 3]);
        var (cos, sin) = embed.Forward(ids);
        Assert.Equal([3, 8], cos.shape);
        int[] axisOf = [0, 0, 1, 1, 2, 2, 2, 2];
        int[] frequencyOf = [0, 0, 0, 0, 0, 0, 1, 1];
        int[] widthOf = [2, 2, 2, 2, 4, 4, 4, 4];
        for (int s = 0; s < 3; s++)
        {
            for (int f = 0; f < 8; f++)
            {
                double angle = ids[s, axisOf[f]].item<float>() / Math.Pow(10000, 2.0 * frequencyOf[f] / widthOf[f]);
                Assert.Equal(Math.Cos(angle), cos[s, f].item<float>(), 6);
                Assert.Equal(Math.Sin(angle), sin[s, f].item<float>(), 6);
            }
        }
    }

    [Fact]
    public void Schnell_style_model_ignores_guidance_and_dev_style_model_requires_it()
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var schnell = FluxTinyModels.Config(guidance: false);
        using var schnellModel = FluxTinyModels.Model(schnell);
        var (text, pooled) = FluxTinyModels.Prompts(schnell, 2);
        Tensor latents = FluxLatents.Pack(FluxTinyModels.Latents(schnell, 2, 4, 6));
        Tensor imgIds = FluxLatents.ImageIds(2, 3);
        Tensor txtIds = FluxLatents.TextIds(text.shape[1]);
        Tensor t = tensor(new[] { 0.7f, 0.2f });
        Tensor without = schnellModel.Forward(latents, text, pooled, t, null, imgIds, txtIds);
        Tensor with = schnellModel.Forward(latents, text, pooled, t, tensor(new[] { 3.5f, 9f }), imgIds, txtIds);
        Assert.True(TensorAssert.Same(without, with));

        var dev = FluxTinyModels.Config(guidance: true);
        using var devModel = FluxTinyModels.Model(dev);
        var error = Assert.Throws<ArgumentException>(() => devModel.Forward(latents, text, pooled, t, null, imgIds, txtIds));
        Assert.Equal("guidance", error.ParamName);
        Tensor low = devModel.Forward(latents, text, pooled, t, tensor(new[] { 1f, 1f }), imgIds, txtIds);
        Tensor high = devModel.Forward(latents, text, pooled, t, tensor(new[] { 4f, 4f }), imgIds, txtIds);
        Assert.True(TensorAssert.MaxAbsDiff(low, high) > 1e-3, "the guidance value must change the output");
    }

    [Fact]
    public void Mismatched_ids_and_widths_are_argument_errors()
    {
        using var scope = NewDisposeScope();
        var config = FluxTinyModels.Config(guidance: false);
        using var model = FluxTinyModels.Model(config);
        var (text, pooled) = FluxTinyModels.Prompts(config, 1);
        Tensor latents = FluxLatents.Pack(FluxTinyModels.Latents(config, 1, 4, 4));
        Tensor t = tensor(new[] { 0.5f });
        Assert.Throws<ArgumentException>(() => model.Forward(latents, text, pooled, t, null, FluxLatents.ImageIds(2, 3), FluxLatents.TextIds(5)));
        Assert.Throws<ArgumentException>(() => model.Forward(latents, text, pooled, t, null, FluxLatents.ImageIds(2, 2), FluxLatents.TextIds(4)));
        Assert.Throws<ArgumentException>(() => model.Forward(FluxTinyModels.Latents(config, 1, 4, 4), text, pooled, t, null,
            FluxLatents.ImageIds(2, 2), FluxLatents.TextIds(5)));
    }

    [Fact]
    public void Forward_is_differentiable_through_every_parameter()
    {
        var config = FluxTinyModels.Config();
        using var model = FluxTinyModels.Model(config);
        model.train();
        using var scope = NewDisposeScope();
        var (text, pooled) = FluxTinyModels.Prompts(config, 1);
        Tensor output = model.Forward(FluxLatents.Pack(FluxTinyModels.Latents(config, 1, 4, 6)), text, pooled, tensor(new[] { 0.4f }),
            tensor(new[] { 3.5f }), FluxLatents.ImageIds(2, 3), FluxLatents.TextIds(text.shape[1]));
        output.square().mean().backward();
        Assert.Empty(model.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name));
    }
}

using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.SD3;

public sealed class SD3Transformer2DModelTests
{
    [Fact]
    public void Sd35_medium_layout_has_exactly_the_diffusers_keys()
    {
        var config = TinyModels.Config(layers: 2, qkNorm: QkNorm.RmsNorm, dual: [0]);
        using var model = new SD3Transformer2DModel(config);
        static IEnumerable<string> Linear(string name) => [name + ".weight", name + ".bias"];
        var expected = new List<string> { "pos_embed.pos_embed" };
        expected.AddRange(new[]
        {
            "pos_embed.proj", "time_text_embed.timestep_embedder.linear_1", "time_text_embed.timestep_embedder.linear_2",
            "time_text_embed.text_embedder.linear_1", "time_text_embed.text_embedder.linear_2", "context_embedder", "norm_out.linear", "proj_out",
        }.SelectMany(Linear));
        foreach (int j in new[] { 0, 1 })
        {
            string b = $"transformer_blocks.{j}.";
            bool last = j == 1;
            var linears = new List<string> { "norm1.linear", "norm1_context.linear", "attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0",
                "attn.add_q_proj", "attn.add_k_proj", "attn.add_v_proj", "ff.net.0.proj", "ff.net.2" };
            if (!last)
            {
                linears.AddRange(["attn.to_add_out", "ff_context.net.0.proj", "ff_context.net.2"]);
            }

            if (j == 0)
            {
                linears.AddRange(["attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0"]);
                expected.AddRange([b + "attn2.norm_q.weight", b + "attn2.norm_k.weight"]);
            }

            expected.AddRange(linears.SelectMany(l => Linear(b + l)));
            expected.AddRange(new[] { "attn.norm_q", "attn.norm_k", "attn.norm_added_q", "attn.norm_added_k" }.Select(n => b + n + ".weight"));
        }

        var state = model.state_dict();
        Assert.Equal(expected.Order(StringComparer.Ordinal), state.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([9 * 16, 16], state["transformer_blocks.0.norm1.linear.weight"].shape);
        Assert.Equal([2 * 16, 16], state["transformer_blocks.1.norm1_context.linear.weight"].shape);
        Assert.Equal([1, 32 * 32, 16], state["pos_embed.pos_embed"].shape);
        Assert.Equal([8], state["transformer_blocks.0.attn.norm_q.weight"].shape);
    }

    [Theory]
    [InlineData(1, 6, 10)]
    [InlineData(2, 12, 20)]
    [InlineData(4, 16, 8)]
    public void Forward_keeps_the_latent_shape_for_any_patch_size_and_aspect(int patch, int height, int width)
    {
        var config = TinyModels.Config(patch);
        using var model = TinyModels.Model(config);
        using var scope = NewDisposeScope();
        using var conditioning = TinyModels.Conditioning(config, 2, guidance: false);
        Tensor latents = TinyModels.Latents(config, 2, height, width);
        Tensor output = model.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, tensor(new[] { 900f, 100f }));
        Assert.Equal([2, 4, height, width], output.shape);
        Assert.True(output.isfinite().all().item<bool>());
    }

    [Fact]
    public void Position_table_is_cropped_from_the_centre()
    {
        var config = TinyModels.Config(2);
        using var model = TinyModels.Model(config);
        using var scope = NewDisposeScope();
        var taps = new Dictionary<string, Tensor>();
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: false);
        Tensor latents = zeros(1, 4, 4, 6);
        model.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, tensor(new[] { 10f }), null, (n, t) => taps[n] = t.clone());

        // Zero latents: patch embedding = conv bias + table rows (32 − 2)/2 = 15.., columns (32 − 3)/2 = 14..
        Tensor table = model.state_dict()["pos_embed.pos_embed"].view(32, 32, 16);
        Tensor bias = model.state_dict()["pos_embed.proj.bias"];
        Tensor expected = table.narrow(0, 15, 2).narrow(1, 14, 3).reshape(1, 6, 16) + bias;
        TensorAssert.Close(expected, taps["patch_embed"], "patch_embed", 1e-6);
    }

    [Fact]
    public void Latents_larger_than_the_position_table_are_rejected()
    {
        var config = TinyModels.Config(2) with { PosEmbedMaxSize = 4 };
        using var model = TinyModels.Model(config);
        using var scope = NewDisposeScope();
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: false);
        var error = Assert.Throws<ArgumentException>(() =>
            model.Forward(zeros(1, 4, 10, 8), conditioning.EncoderHiddenStates, conditioning.PooledProjections, tensor(new[] { 1f })));
        Assert.Contains("pos_embed_max_size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_is_differentiable()
    {
        var config = TinyModels.Config(2);
        using var model = TinyModels.Model(config);
        model.train();
        using var scope = NewDisposeScope();
        using var conditioning = TinyModels.Conditioning(config, 1, guidance: false);
        Tensor output = model.Forward(TinyModels.Latents(config, 1, 8, 8), conditioning.EncoderHiddenStates, conditioning.PooledProjections, tensor(new[] { 500f }));
        output.square().mean().backward();

        // The last block's text queries are never used (its text output is discarded), so we skip them.
        var withoutGrad = model.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name).Order(StringComparer.Ordinal);
        Assert.Equal(["transformer_blocks.1.attn.add_q_proj.bias", "transformer_blocks.1.attn.add_q_proj.weight"], withoutGrad);
    }
}

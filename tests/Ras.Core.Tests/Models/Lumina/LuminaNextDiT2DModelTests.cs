using Ras.Models.Lumina;
using Ras.RegionAdaptive;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Lumina;

public sealed class LuminaNextDiT2DModelTests
{
    private static readonly LuminaRopeScaling Rope = new(1.5, 1.25);

    [Fact]
    public void Has_exactly_the_diffusers_keys_and_shapes()
    {
        var config = LuminaTinyModels.Config(layers: 2);
        using var model = new LuminaNextDiT2DModel(config);
        var expected = new List<string>
        {
            "pad_token", "patch_embedder.proj.weight", "patch_embedder.proj.bias",
            "time_caption_embed.timestep_embedder.linear_1.weight", "time_caption_embed.timestep_embedder.linear_1.bias",
            "time_caption_embed.timestep_embedder.linear_2.weight", "time_caption_embed.timestep_embedder.linear_2.bias",
            "time_caption_embed.caption_embedder.0.weight", "time_caption_embed.caption_embedder.0.bias",
            "time_caption_embed.caption_embedder.1.weight", "time_caption_embed.caption_embedder.1.bias",
            "norm_out.linear_1.weight", "norm_out.linear_1.bias", "norm_out.linear_2.weight", "norm_out.linear_2.bias",
        };
        foreach (int j in new[] { 0, 1 })
        {
            expected.AddRange(new[]
            {
                "gate", "norm1.linear.weight", "norm1.linear.bias", "norm1.norm.weight", "norm1_context.weight", "norm2.weight",
                "ffn_norm1.weight", "ffn_norm2.weight", "feed_forward.linear_1.weight", "feed_forward.linear_2.weight",
                "feed_forward.linear_3.weight", "attn1.to_q.weight", "attn1.to_k.weight", "attn1.to_v.weight",
                "attn1.norm_q.weight", "attn1.norm_q.bias", "attn1.norm_k.weight", "attn1.norm_k.bias",
                "attn2.to_q.weight", "attn2.to_k.weight", "attn2.to_v.weight", "attn2.to_out.0.weight",
                "attn2.norm_q.weight", "attn2.norm_q.bias", "attn2.norm_k.weight", "attn2.norm_k.bias",
            }.Select(name => $"layers.{j}.{name}"));
        }

        var state = model.state_dict();
        Assert.Equal(expected.Order(StringComparer.Ordinal), state.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([32, 16], state["patch_embedder.proj.weight"].shape);          // p·p·C = 16
        Assert.Equal([16, 32], state["layers.0.attn1.to_k.weight"].shape);          // g·d = 2·8
        Assert.Equal([16, 12], state["layers.0.attn2.to_v.weight"].shape);          // caption width 12
        Assert.Equal([16], state["layers.1.attn2.norm_k.weight"].shape);
        Assert.Equal([4], state["layers.1.gate"].shape);
        Assert.Equal([128, 32], state["layers.0.norm1.linear.weight"].shape);       // 4D × min(D, 1024)
        Assert.Equal([96, 32], state["layers.0.feed_forward.linear_1.weight"].shape);  // int(256/3) = 85 → 96
        Assert.Equal([32, 32], state["norm_out.linear_2.weight"].shape);            // p·p·2C = 32
    }

    [Fact]
    public void Without_qk_norm_there_are_no_norm_keys()
    {
        using var model = new LuminaNextDiT2DModel(LuminaTinyModels.Config(layers: 1, qkNorm: false));
        Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains("norm_q", StringComparison.Ordinal) || k.Contains("norm_k", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1, 6, 10, true)]
    [InlineData(2, 12, 20, true)]
    [InlineData(4, 16, 8, false)]
    public void Forward_keeps_the_grid_for_any_patch_size_and_aspect(int patch, int height, int width, bool learnSigma)
    {
        var config = LuminaTinyModels.Config(patch, learnSigma: learnSigma);
        using var model = LuminaTinyModels.Model(config);
        using var scope = NewDisposeScope();
        using var conditioning = LuminaTinyModels.Conditioning(config, 2, guidance: false);
        Tensor output = model.Forward(LuminaTinyModels.Latents(config, 2, height, width), tensor(new[] { 0.2f, 0.9f }),
            conditioning.Captions, conditioning.Masks, Rope, baseSequenceLength: 16);
        Assert.Equal([2, learnSigma ? 8 : 4, height, width], output.shape);
        Assert.True(output.isfinite().all().item<bool>());
    }

    [Fact]
    public void Patch_vectors_are_channel_major_and_unpatchify_is_channel_minor_on_a_non_square_grid()
    {
        var config = LuminaTinyModels.Config(2);
        using var model = LuminaTinyModels.Model(config);
        using var scope = NewDisposeScope();
        using var conditioning = LuminaTinyModels.Conditioning(config, 1, guidance: false);
        Tensor latents = LuminaTinyModels.Latents(config, 1, 6, 10);
        var taps = new Dictionary<string, Tensor>();
        Tensor output = model.Forward(latents, tensor(new[] { 0.5f }), conditioning.Captions, conditioning.Masks, Rope, null, null,
            (name, t) => taps[name] = t.clone());

        // Patch embedding of token (r, c) from its explicitly gathered channel-major vector.
        const int p = 2, rows = 3, cols = 5, channels = 4;
        Tensor weight = model.state_dict()["patch_embedder.proj.weight"];
        Tensor bias = model.state_dict()["patch_embedder.proj.bias"];
        foreach (var (r, c) in new[] { (0, 0), (1, 3), (2, 4), (2, 1) })
        {
            var vector = new float[channels * p * p];
            for (int ch = 0; ch < channels; ch++)
            {
                for (int pi = 0; pi < p; pi++)
                {
                    for (int qi = 0; qi < p; qi++)
                    {
                        vector[(ch * p * p) + (pi * p) + qi] = latents[0, ch, (r * p) + pi, (c * p) + qi].item<float>();
                    }
                }
            }

            Tensor expected = weight.matmul(tensor(vector)) + bias;
            TensorAssert.Close(expected, taps["patch_embed"][0, (r * cols) + c], $"patch_embed token ({r}, {c})", 1e-5);
        }

        // Output pixel (r·p + pi, c·p + qi) of channel ch is feature (pi·p + qi)·C' + ch of token (r, c).
        float[] tokens = taps["norm_out"].contiguous().data<float>().ToArray();      // [1, N, p·p·C']
        float[] pixels = output.contiguous().data<float>().ToArray();                 // [1, C', H, W]
        const int outChannels = 8, width = cols * p;
        for (int ch = 0; ch < outChannels; ch++)
        {
            for (int y = 0; y < rows * p; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    int token = (y / p * cols) + (x / p);
                    int feature = (((y % p * p) + (x % p)) * outChannels) + ch;
                    Assert.Equal(tokens[(token * p * p * outChannels) + feature], pixels[(((ch * rows * p) + y) * width) + x]);
                }
            }
        }
    }

    [Fact]
    public void Rope_table_interleaves_row_and_column_frequencies()
    {
        const int headDim = 16, rows = 3, cols = 5;
        var scaling = new LuminaRopeScaling(2.0, 1.5);
        var (cos, sin) = LuminaRotaryEmbedding.Table(headDim, rows, cols, scaling);
        using (cos)
        using (sin)
        {
            Assert.Equal([rows * cols, headDim / 2], cos.shape);
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    for (int j = 0; j < headDim / 2; j++)
                    {
                        int k = j / 2;
                        double frequency = 1.0 / Math.Pow(10000 * scaling.NtkFactor, 2.0 * k / (headDim / 2)) / scaling.LinearFactor;
                        double angle = (j % 2 == 0 ? r : c) * frequency;
                        int token = (r * cols) + c;
                        Assert.Equal(Math.Cos(angle), cos[token, j].item<float>(), 5);
                        Assert.Equal(Math.Sin(angle), sin[token, j].item<float>(), 5);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(2, 12, 20)]
    [InlineData(1, 6, 10)]
    public void Sparse_routing_reproduces_the_dense_output_at_the_computed_tokens(int patch, int height, int width)
    {
        var config = LuminaTinyModels.Config(patch);
        using var model = LuminaTinyModels.Model(config);
        using var scope = NewDisposeScope();
        using var conditioning = LuminaTinyModels.Conditioning(config, 2, guidance: false);
        Tensor latents = LuminaTinyModels.Latents(config, 2, height, width);
        Tensor time = tensor(new[] { 0.3f, 0.8f });
        int tokens = height / patch * (width / patch);
        Tensor Run(RasRouting? routing) =>
            model.Forward(latents, time, conditioning.Captions, conditioning.Masks, Rope, baseSequenceLength: 20, routing);

        Tensor dense = Run(null);
        using var caches = new KeyValueCaches();
        using (var fill = new RasRouting(caches, index: null, tokens))
        {
            TensorAssert.Close(dense, Run(fill), "refill step", 1e-6);
        }

        // Each image computes its own third of the tokens; the caches hold every token's K/V from the same input,
        // so the computed tokens see exactly what a dense call sees (RoPE rows, keys, N in the scale).
        Tensor index = stack([arange(0, tokens, 3), arange(1, tokens, 3).narrow(0, 0, (tokens + 2) / 3)], 0);
        Tensor sparse;
        using (var routing = new RasRouting(caches, index, tokens))
        {
            sparse = Run(routing);
        }

        Tensor tokenMask = zeros([2, tokens], ScalarType.Bool).scatter(1, index, ones_like(index, ScalarType.Bool));
        Tensor pixelMask = tokenMask.view(2, 1, height / patch, width / patch).repeat_interleave(patch, 2).repeat_interleave(patch, 3)
            .expand_as(dense);
        TensorAssert.Close(dense.masked_select(pixelMask), sparse.masked_select(pixelMask), "computed tokens", 1e-5);
        Assert.True(sparse.masked_select(pixelMask.logical_not()).eq(0).all().item<bool>(), "cached tokens must be exactly zero");
    }

    [Fact]
    public void Forward_is_differentiable()
    {
        var config = LuminaTinyModels.Config();
        using var model = LuminaTinyModels.Model(config);
        model.train();
        using var scope = NewDisposeScope();
        using var conditioning = LuminaTinyModels.Conditioning(config, 1, guidance: false);
        Tensor output = model.Forward(LuminaTinyModels.Latents(config, 1, 8, 8), tensor(new[] { 0.4f }),
            conditioning.Captions, conditioning.Masks, Rope, baseSequenceLength: 16);
        output.square().mean().backward();

        // pad_token is stored by diffusers checkpoints but never used by the forward.
        var withoutGrad = model.named_parameters().Where(p => p.parameter.grad is null).Select(p => p.name);
        Assert.Equal(["pad_token"], withoutGrad);
    }
}

using Ras.Models.Flux;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Models.Flux;

public sealed class FluxFlopCountTests
{
    /// <summary>
    /// Counted from the model's own weights: every 2-D weight is a linear layer, applied to the rows its name says
    /// (per-sample conditioning once, image layers to the computed tokens, text layers to the text, single-stream
    /// layers to both); plus QKᵀ and AV of every attention against all N + L keys.
    /// </summary>
    [Theory]
    [InlineData(true, 1, 15, 15, 7)]
    [InlineData(true, 2, 15, 6, 7)]
    [InlineData(false, 2, 64, 20, 9)]
    public void Counts_every_linear_layer_of_the_model_and_every_attention_matmul(bool guidance, int batch, int imageTokens, int computed, int text)
    {
        var config = FluxTinyModels.Config(guidance: guidance);
        using var model = new FluxTransformer2DModel(config);
        double expected = 0;
        foreach (var (name, parameter) in model.named_parameters().Where(p => p.parameter.dim() == 2))
        {
            expected += 2.0 * Rows(name, imageTokens, computed, text) * parameter.shape[0] * parameter.shape[1];
        }

        expected += (config.NumLayers + config.NumSingleLayers) * 4.0 * (text + computed) * (imageTokens + text) * config.InnerDim;
        Assert.Equal(expected * batch, FluxFlopCount.Forward(config, batch, imageTokens, computed, text));
    }

    [Fact]
    public void Ras_at_flux_dev_size_saves_in_proportion_to_the_computed_tokens()
    {
        var config = new FluxTransformerConfig { GuidanceEmbeds = true };
        double dense = FluxFlopCount.Forward(config, 1, 4096, 4096, 512);
        double half = FluxFlopCount.Forward(config, 1, 4096, 2048, 512);
        Assert.InRange(dense / half, 1.7, 2.0);   // the text rows (512) and the embedders do not scale with n
        Assert.True(FluxFlopCount.Forward(config, 1, 4096, 1024, 512) < half);
        Assert.Equal(2 * dense, FluxFlopCount.Forward(config, 2, 4096, 4096, 512));
    }

    private static long Rows(string name, long imageTokens, long computed, long text)
    {
        if (name.StartsWith("x_embedder", StringComparison.Ordinal))
        {
            return imageTokens;
        }

        if (name.StartsWith("context_embedder", StringComparison.Ordinal))
        {
            return text;
        }

        if (name.StartsWith("time_text_embed", StringComparison.Ordinal) || name.Contains("norm", StringComparison.Ordinal))
        {
            return 1;
        }

        if (name.StartsWith("single_transformer_blocks", StringComparison.Ordinal))
        {
            return text + computed;
        }

        if (name.StartsWith("transformer_blocks", StringComparison.Ordinal))
        {
            bool textLayer = name.Contains(".add_", StringComparison.Ordinal) || name.Contains("to_add_out", StringComparison.Ordinal)
                || name.Contains("ff_context", StringComparison.Ordinal);
            return textLayer ? text : computed;
        }

        Assert.Equal("proj_out.weight", name);
        return computed;
    }
}

using Ras.Models.Lumina;

namespace Ras.Tests.Models.Lumina;

public sealed class LuminaFlopCountTests
{
    /// <summary>Hand count for a small config: D 8, 2 heads of 4, 1 kv head (kv 4), Dc 6, Dt 8, F 32, p 2, C 4 (C' 8).</summary>
    [Fact]
    public void Counts_every_linear_and_attention_matmul()
    {
        var config = new LuminaNextDiT2DModelConfig
        {
            SampleSize = 8, PatchSize = 2, InChannels = 4, HiddenSize = 8, NumLayers = 3, NumAttentionHeads = 2, NumKvHeads = 1,
            MultipleOf = 16, CrossAttentionDim = 6,
        };
        Assert.Equal(32, config.FeedForwardDim);   // 16 · ceil(int(2·32/3) / 16) = 16 · ceil(21/16)

        // N 16, n 5, L 3.
        double outside = (2 * 16 * 16 * 8) + (2 * ((256 * 8) + 64)) + (2 * 6 * 8) + (2 * 8 * 8) + (2 * 5 * 8 * 4 * 8);
        double block = (2 * 8 * 32) + (2 * 5 * (64 + 64)) + (4 * 5 * 16 * 8) + (2 * 5 * 64) + (2 * 3 * 6 * 4 * 2) + (4 * 5 * 3 * 8)
            + (2 * 5 * 64) + (2 * 5 * 8 * 32 * 3);
        Assert.Equal(2 * (outside + (3 * block)), LuminaFlopCount.Forward(config, 2, 16, 5, 3));
    }

    [Fact]
    public void Ras_at_lumina_next_size_saves_in_proportion_to_the_computed_tokens()
    {
        var config = new LuminaNextDiT2DModelConfig { HiddenSize = 2304, NumAttentionHeads = 32, NumKvHeads = 8, NumLayers = 24, CrossAttentionDim = 2048 };
        double dense = LuminaFlopCount.Forward(config, 2, 4096, 4096, 256);
        double half = LuminaFlopCount.Forward(config, 2, 4096, 2048, 256);
        double ideal = dense / half;
        Assert.InRange(ideal, 1.9, 2.0);   // almost everything scales with n; patch embedding, embedders and caption K/V do not
        Assert.True(LuminaFlopCount.Forward(config, 2, 4096, 1024, 256) < half);
    }
}

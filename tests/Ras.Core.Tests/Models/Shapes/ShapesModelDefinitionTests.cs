using Ras.Models.SD3;
using Ras.Models.Shapes;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Shapes;

public sealed class ShapesModelDefinitionTests
{
    [Fact]
    public void Sample_size_is_the_image_edge_so_token_positions_step_by_one()
    {
        // diffusers: sample_size is the input's edge and base_size = sample_size / patch_size; for this pixel-space
        // model that is 64 / 4 = 16 = the table's edge, so column c sits at position c (DiT's spacing), not c / 4.
        SD3TransformerConfig config = ShapesModelDefinition.Transformer;
        Assert.Equal(ShapesModelDefinition.ImageSize, config.SampleSize);
        Assert.Equal(config.SampleSize / config.PatchSize, config.PosEmbedMaxSize);
        using var model = new SD3Transformer2DModel(config);
        using Tensor table = model.state_dict()["pos_embed.pos_embed"];
        Assert.Equal([1L, 256, 192], table.shape);
        // First quarter of a row: sin(column · ω₀) with ω₀ = 1.
        Assert.Equal(Math.Sin(1), table[0, 1, 0].item<float>(), 5);
        Assert.Equal(Math.Sin(15), table[0, 15, 0].item<float>(), 5);
    }
}

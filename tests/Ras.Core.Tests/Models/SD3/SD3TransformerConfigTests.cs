using Ras.Errors;
using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Models.SD3;

public sealed class SD3TransformerConfigTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Reads_sd35_medium_fields_and_ignores_unknown_ones()
    {
        var config = Load("""
            {"_class_name": "SD3Transformer2DModel", "_diffusers_version": "0.31.0", "attention_head_dim": 64, "caption_projection_dim": 1536,
             "dual_attention_layers": [0,1,2,3,4,5,6,7,8,9,10,11,12], "in_channels": 16, "joint_attention_dim": 4096, "num_attention_heads": 24,
             "num_layers": 24, "out_channels": 16, "patch_size": 2, "pooled_projection_dim": 2048, "pos_embed_max_size": 384,
             "qk_norm": "rms_norm", "sample_size": 128, "something_new": [1, 2]}
            """);
        Assert.Equal(QkNorm.RmsNorm, config.QkNorm);
        Assert.Equal(13, config.DualAttentionLayers.Count);
        Assert.Equal(1536, config.InnerDim);
        Assert.Equal(384, config.PosEmbedMaxSize);
    }

    [Fact]
    public void Absent_fields_take_diffusers_defaults_and_null_out_channels_means_in_channels()
    {
        var config = Load("""{"in_channels": 8, "out_channels": null, "caption_projection_dim": 1152}""");
        Assert.Equal(8, config.OutChannels);
        Assert.Equal(18, config.NumLayers);
        Assert.Equal(QkNorm.None, config.QkNorm);
    }

    [Theory]
    [InlineData("""{"num_layers": "24"}""", "num_layers", "must be an integer")]
    [InlineData("""{"num_layers": 2.5}""", "num_layers", "must be an integer")]
    [InlineData("""{"dual_attention_layers": 3}""", "dual_attention_layers", "list of integers")]
    [InlineData("""{"qk_norm": "layer_norm"}""", "qk_norm", "not implemented")]
    [InlineData("""{"qk_norm": 1}""", "qk_norm", "must be a string")]
    [InlineData("""{"_class_name": "FluxTransformer2DModel"}""", "_class_name", "expected 'SD3Transformer2DModel'")]
    [InlineData("""{"caption_projection_dim": 100}""", "caption_projection_dim", "only equal widths")]
    [InlineData("""{"dual_attention_layers": [40]}""", "dual_attention_layers", "outside")]
    [InlineData("""{"patch_size": 0}""", "patch_size", "at least 1")]
    public void Bad_fields_are_named(string json, string field, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => Load(json));
        Assert.Equal(field, error.Field);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_json_and_missing_file_are_config_errors()
    {
        Assert.Throws<ConfigException>(() => Load("{ nope"));
        Assert.Throws<ConfigException>(() => SD3TransformerConfig.Load(temp.File("absent.json")));
    }

    private SD3TransformerConfig Load(string json)
    {
        string path = temp.File("config.json");
        File.WriteAllText(path, json);
        return SD3TransformerConfig.Load(path);
    }
}

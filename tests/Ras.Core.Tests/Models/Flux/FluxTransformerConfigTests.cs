using Ras.Errors;
using Ras.Models.Flux;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Models.Flux;

public sealed class FluxTransformerConfigTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Reads_flux_dev_fields_and_ignores_unknown_and_underscored_ones()
    {
        var config = Load("""
            {"_class_name": "FluxTransformer2DModel", "_diffusers_version": "0.30.0.dev0", "_name_or_path": "../checkpoints/flux-dev/transformer",
             "attention_head_dim": 128, "axes_dims_rope": [16, 56, 56], "guidance_embeds": true, "in_channels": 64, "joint_attention_dim": 4096,
             "num_attention_heads": 24, "num_layers": 19, "num_single_layers": 38, "patch_size": 1, "pooled_projection_dim": 768,
             "something_new": {"a": 1}}
            """);
        Assert.True(config.GuidanceEmbeds);
        Assert.Equal(3072, config.InnerDim);
        Assert.Equal(12288, config.MlpHiddenDim);
        Assert.Equal(64, config.OutChannels);
        Assert.Equal([16, 56, 56], config.AxesDimsRope);
    }

    [Fact]
    public void Absent_fields_take_diffusers_defaults_and_null_out_channels_means_in_channels()
    {
        var config = Load("""{"in_channels": 16, "out_channels": null, "attention_head_dim": 128}""");
        Assert.Equal(16, config.OutChannels);
        Assert.Equal(19, config.NumLayers);
        Assert.Equal(38, config.NumSingleLayers);
        Assert.Equal(24, config.NumAttentionHeads);
        Assert.False(config.GuidanceEmbeds);
        Assert.Equal(768, config.PooledProjectionDim);
    }

    [Fact]
    public void Round_trips_through_its_json()
    {
        var config = FluxTinyModels.Config(guidance: false) with { OutChannels = 8 };
        string path = temp.File("config.json");
        File.WriteAllText(path, config.ToJson());
        var read = FluxTransformerConfig.Load(path);
        Assert.Equal(config.ToJson(), read.ToJson());
    }

    [Theory]
    [InlineData("""{"num_layers": "19"}""", "num_layers", "must be an integer")]
    [InlineData("""{"num_single_layers": 1.5}""", "num_single_layers", "must be an integer")]
    [InlineData("""{"guidance_embeds": "yes"}""", "guidance_embeds", "true or false")]
    [InlineData("""{"axes_dims_rope": 128}""", "axes_dims_rope", "list of integers")]
    [InlineData("""{"axes_dims_rope": [16, 56, 58]}""", "axes_dims_rope", "sums to 130, not attention_head_dim 128")]
    [InlineData("""{"axes_dims_rope": [64, 64]}""", "axes_dims_rope", "3 axes")]
    [InlineData("""{"axes_dims_rope": [15, 57, 56]}""", "axes_dims_rope", "even")]
    [InlineData("""{"patch_size": 2}""", "patch_size", "only 1 is implemented")]
    [InlineData("""{"num_attention_heads": 0}""", "num_attention_heads", "at least 1")]
    [InlineData("""{"num_single_layers": -1}""", "num_single_layers", "at least 0")]
    [InlineData("""{"_class_name": "SD3Transformer2DModel"}""", "_class_name", "expected 'FluxTransformer2DModel'")]
    public void Bad_fields_are_named(string json, string field, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => Load(json));
        Assert.Equal(field, error.Field);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_names_the_field_of_an_inconsistent_record()
    {
        var error = Assert.Throws<OptionsException>(() => new FluxTransformerConfig { AttentionHeadDim = 64 }.Validate());
        Assert.Equal("axes_dims_rope", error.Option);
        Assert.Throws<OptionsException>(() => new FluxTransformer2DModel(new FluxTransformerConfig { PatchSize = 2 }));
    }

    [Fact]
    public void Broken_json_and_missing_file_are_config_errors()
    {
        Assert.Throws<ConfigException>(() => Load("{ nope"));
        Assert.Throws<ConfigException>(() => FluxTransformerConfig.Load(temp.File("absent.json")));
    }

    private FluxTransformerConfig Load(string json)
    {
        string path = temp.File("config.json");
        File.WriteAllText(path, json);
        return FluxTransformerConfig.Load(path);
    }
}

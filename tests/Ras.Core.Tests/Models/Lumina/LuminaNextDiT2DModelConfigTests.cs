using Ras.Errors;
using Ras.Models.Lumina;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Models.Lumina;

public sealed class LuminaNextDiT2DModelConfigTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Reads_the_lumina_next_sft_config_and_ignores_unknown_fields()
    {
        var config = Load("""
            {"_class_name": "LuminaNextDiT2DModel", "_diffusers_version": "0.30.0.dev0", "cross_attention_dim": 2048,
             "ffn_dim_multiplier": null, "hidden_size": 2304, "in_channels": 4, "learn_sigma": true, "multiple_of": 256,
             "norm_eps": 1e-05, "num_attention_heads": 32, "num_kv_heads": 8, "num_layers": 24, "patch_size": 2,
             "qk_norm": true, "sample_size": 128, "scaling_factor": 1.0, "something_new": [1, 2]}
            """);
        Assert.Equal(24, config.NumLayers);
        Assert.Equal(8, config.KvHeads);
        Assert.Equal(72, config.HeadDim);
        Assert.Equal(8, config.OutChannels);
        Assert.Equal(1024, config.ConditioningDim);
        Assert.Equal(6144, config.FeedForwardDim);   // int(8·2304/3) = 6144, already a multiple of 256
    }

    [Fact]
    public void Absent_fields_take_diffusers_defaults_and_null_kv_heads_means_every_head()
    {
        var config = Load("""{"num_kv_heads": null, "hidden_size": 64, "num_attention_heads": 4}""");
        Assert.Equal(4, config.KvHeads);
        Assert.Equal(32, config.NumLayers);
        Assert.Equal(2048, config.CrossAttentionDim);
        Assert.True(config.LearnSigma);
        Assert.True(config.QkNorm);
        Assert.Equal(1e-5, config.NormEps);
        Assert.Equal(64, config.ConditioningDim);
    }

    [Theory]
    [InlineData(64, 16, null, 176)]     // int(512/3) = 170 → 176
    [InlineData(64, 16, 1.3, 224)]      // int(1.3·170) = 221 → 224
    [InlineData(64, 256, null, 256)]
    [InlineData(2304, 256, 0.5, 3072)]  // int(0.5·6144) = 3072
    public void Feed_forward_width_follows_lumina_rounding(int hidden, int multipleOf, double? multiplier, int expected)
    {
        var config = new LuminaNextDiT2DModelConfig { HiddenSize = hidden, NumAttentionHeads = 4, MultipleOf = multipleOf, FfnDimMultiplier = multiplier };
        Assert.Equal(expected, config.FeedForwardDim);
    }

    [Theory]
    [InlineData("""{"num_layers": "24"}""", "num_layers", "must be an integer")]
    [InlineData("""{"hidden_size": 64.5}""", "hidden_size", "must be an integer")]
    [InlineData("""{"qk_norm": "yes"}""", "qk_norm", "true or false")]
    [InlineData("""{"learn_sigma": 1}""", "learn_sigma", "true or false")]
    [InlineData("""{"ffn_dim_multiplier": "1.3"}""", "ffn_dim_multiplier", "must be a number")]
    [InlineData("""{"_class_name": "SD3Transformer2DModel"}""", "_class_name", "expected 'LuminaNextDiT2DModel'")]
    [InlineData("""{"hidden_size": 66, "num_attention_heads": 4}""", "hidden_size", "not divisible")]
    [InlineData("""{"hidden_size": 40, "num_attention_heads": 4}""", "hidden_size", "divisible by 4")]
    [InlineData("""{"hidden_size": 64, "num_attention_heads": 4, "num_kv_heads": 3}""", "num_kv_heads", "does not divide")]
    [InlineData("""{"patch_size": 0}""", "patch_size", "at least 1")]
    [InlineData("""{"norm_eps": 0}""", "norm_eps", "positive")]
    [InlineData("""{"ffn_dim_multiplier": -1}""", "ffn_dim_multiplier", "positive")]
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
        Assert.Throws<ConfigException>(() => LuminaNextDiT2DModelConfig.Load(temp.File("absent.json")));
    }

    [Fact]
    public void Written_config_reads_back_equal()
    {
        var config = LuminaTinyModels.Config() with { FfnDimMultiplier = 1.5, NumKvHeads = null };
        Assert.Equal(config, Load(config.ToJson()));
    }

    private LuminaNextDiT2DModelConfig Load(string json)
    {
        string path = temp.File("config.json");
        File.WriteAllText(path, json);
        return LuminaNextDiT2DModelConfig.Load(path);
    }
}

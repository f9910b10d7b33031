using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Models.Common;
using Ras.Models.Gemma;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Gemma;

/// <summary>Loading, weight storage, input checks and config errors of <see cref="GemmaModel"/> on a tiny random model.</summary>
[Collection(SerialCollection.Name)]   // the stored mode switches libtorch's process-wide default dtype while building
public sealed class GemmaModelTests : IDisposable
{
    private const string TinyConfig = """
        {"model_type": "gemma", "vocab_size": 50, "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 3,
         "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "rope_theta": 500.0, "rms_norm_eps": 1e-5,
         "hidden_act": "gelu", "hidden_activation": null}
        """;

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Config_reads_every_field_and_defaults_the_activation_to_tanh_gelu()
    {
        var config = GemmaConfig.Load(Write("config.json", TinyConfig));
        Assert.Equal(new GemmaConfig
        {
            VocabSize = 50, HiddenSize = 24, IntermediateSize = 40, NumHiddenLayers = 3, NumAttentionHeads = 4,
            NumKeyValueHeads = 2, HeadDim = 8, RopeTheta = 500, RmsNormEps = 1e-5, HiddenActivation = GemmaActivation.GeluTanh,
        }, config);
        Assert.Equal(2, config.KeyValueGroups);
    }

    [Theory]
    [InlineData("\"hidden_size\": \"24\"", "hidden_size")]
    [InlineData("\"model_type\": \"gemma2\"", "model_type")]
    [InlineData("\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling")]
    [InlineData("\"hidden_activation\": \"relu\"", "hidden_activation")]
    [InlineData("\"num_key_value_heads\": 3", "num_key_value_heads")]
    [InlineData("\"head_dim\": 7", "head_dim")]
    [InlineData("\"num_hidden_layers\": 0", "num_hidden_layers")]
    [InlineData("\"attention_bias\": 1", "attention_bias")]
    public void Invalid_or_unimplemented_config_values_name_file_and_field(string field, string name)
    {
        string path = Write("config.json", TinyConfig.TrimEnd()[..^1] + ", " + field + "}");
        var error = Assert.Throws<ConfigException>(() => GemmaConfig.Load(path));
        Assert.Equal(path, error.FilePath);
        Assert.Equal(name, error.Field);
    }

    [Fact]
    public void Missing_config_names_the_file()
    {
        var error = Assert.Throws<ConfigException>(() => GemmaModel.FromPretrained(temp.Path));
        Assert.Equal(Path.Combine(temp.Path, "config.json"), error.FilePath);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Stored_half_weights_match_float32_bit_for_bit_and_keep_the_embedding_compact(ScalarType dtype)
    {
        string folder = SaveTiny("half", dtype, key => key);
        using var full = GemmaModel.FromPretrained(folder, storage: WeightStorage.FullPrecision);
        using var stored = GemmaModel.FromPretrained(folder, storage: WeightStorage.Stored);
        Assert.Null(full.BlockWeights);
        var weights = Assert.IsType<UpcastOnUse>(stored.BlockWeights);
        Assert.Equal(dtype, weights.Storage);
        Assert.Equal(full.Blocks.SelectMany(b => b.parameters()).Sum(p => p.numel()) * 2, weights.StoredBytes);   // half precision, once
        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));              // no float32 copy at rest
        Assert.All(stored.ResidentModules.SelectMany(m => m.parameters()), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Equal(dtype, stored.state_dict()["embed_tokens.weight"].dtype);

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var (ids, mask) = Inputs();
        GemmaOutput expected = full.Forward(ids, mask);
        GemmaOutput actual = stored.Forward(ids, mask);
        Assert.Equal(ScalarType.Float32, actual.LastHiddenState.dtype);
        for (int i = 0; i < expected.HiddenStates.Count; i++)
        {
            Assert.True(TensorAssert.Same(expected.HiddenStates[i], actual.HiddenStates[i]), $"hidden state {i}: max diff {TensorAssert.MaxAbsDiff(expected.HiddenStates[i], actual.HiddenStates[i])}");
        }

        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));   // emptied again after use
    }

    [Fact]
    public void Causal_lm_checkpoint_with_model_prefix_and_lm_head_binds_to_the_same_weights()
    {
        string plain = SaveTiny("plain", ScalarType.Float32, key => key);
        string causal = SaveTiny("causal", ScalarType.Float32, key => "model." + key, addLmHead: true);
        using var a = GemmaModel.FromPretrained(plain);
        using var b = GemmaModel.FromPretrained(causal);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var (ids, mask) = Inputs();
        Assert.True(TensorAssert.Same(a.PenultimateHiddenState(ids, mask), b.PenultimateHiddenState(ids, mask)));
    }

    [Fact]
    public void Checkpoint_missing_a_layer_lists_every_missing_key()
    {
        string folder = SaveTiny("partial", ScalarType.Float32, key => key.StartsWith("layers.2.", StringComparison.Ordinal) ? null : key);
        var error = Assert.Throws<CheckpointException>(() => GemmaModel.FromPretrained(folder));
        Assert.Equal(9, error.Missing.Count);
        Assert.All(error.Missing, key => Assert.StartsWith("layers.2.", key, StringComparison.Ordinal));
    }

    [Fact]
    public void Pad_rows_are_finite_and_real_rows_do_not_see_the_padding()
    {
        string folder = SaveTiny("pads", ScalarType.Float32, key => key);
        using var model = GemmaModel.FromPretrained(folder);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var (ids, mask) = Inputs();
        Tensor padded = model.PenultimateHiddenState(ids, mask);
        Assert.True(padded.isfinite().all().item<bool>());

        // Row 1 is left-padded by 3: its real tokens alone, at positions shifted by 3, give the same features up to
        // rounding (RoPE depends only on relative positions).
        Tensor alone = model.PenultimateHiddenState(ids[1..2, 3..], mask[1..2, 3..]);
        TensorAssert.Close(alone, padded[1..2, 3..], "left-padded row vs its real tokens alone", 1e-5);
    }

    [Fact]
    public void Bad_inputs_are_argument_errors()
    {
        string folder = SaveTiny("inputs", ScalarType.Float32, key => key);
        using var model = GemmaModel.FromPretrained(folder);
        using var scope = NewDisposeScope();
        var (ids, mask) = Inputs();
        Assert.Contains("vocab_size", Assert.Throws<ArgumentException>(() => model.Forward(ids.add(50), mask)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.Forward(ids.to_type(ScalarType.Float32), mask));
        Assert.Throws<ArgumentException>(() => model.Forward(ids, mask[.., 1..]));
    }

    /// <summary>Batch 2, length 7: row 0 full, row 1 left-padded by 3 (pad id 0).</summary>
    private static (Tensor Ids, Tensor Mask) Inputs() => (
        tensor(new long[] { 2, 17, 5, 33, 9, 41, 12, 0, 0, 0, 2, 8, 30, 49 }, [2, 7]),
        tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1 }, [2, 7]));

    /// <summary>A random tiny model (norm offsets perturbed too) saved in <paramref name="dtype"/> under renamed keys (null drops a key).</summary>
    private string SaveTiny(string name, ScalarType dtype, Func<string, string?> rename, bool addLmHead = false)
    {
        string folder = temp.File(name);
        Directory.CreateDirectory(folder);
        string config = Write(Path.Combine(name, "config.json"), TinyConfig);
        manual_seed(11);
        using var model = new GemmaModel(GemmaConfig.Load(config));
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            foreach (var (_, parameter) in model.named_parameters())
            {
                parameter.add_(randn_like(parameter).mul(0.3));
            }
        }

        var tensors = new Dictionary<string, Tensor>();
        foreach (var (key, value) in model.state_dict())
        {
            if (rename(key) is string renamed)
            {
                tensors[renamed] = value.to_type(dtype);
            }
        }

        if (addLmHead)
        {
            tensors["lm_head.weight"] = model.state_dict()["embed_tokens.weight"].to_type(dtype);
        }

        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), tensors);
        return folder;
    }

    private string Write(string relative, string text)
    {
        string path = temp.File(relative);
        File.WriteAllText(path, text);
        return path;
    }
}

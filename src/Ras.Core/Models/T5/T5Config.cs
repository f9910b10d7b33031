using Ras.IO.Configs;

namespace Ras.Models.T5;

/// <summary>Architecture of a T5 v1.1 encoder, field for field transformers' <c>T5Config</c> (defaults as transformers).</summary>
public sealed record T5Config
{
    /// <summary><c>vocab_size</c>.</summary>
    public int VocabSize { get; init; } = 32128;

    /// <summary><c>d_model</c>.</summary>
    public int DModel { get; init; } = 512;

    /// <summary><c>d_kv</c>: width of each head.</summary>
    public int DKv { get; init; } = 64;

    /// <summary><c>d_ff</c>.</summary>
    public int DFf { get; init; } = 2048;

    /// <summary><c>num_layers</c>.</summary>
    public int NumLayers { get; init; } = 6;

    /// <summary><c>num_heads</c>.</summary>
    public int NumHeads { get; init; } = 8;

    /// <summary><c>relative_attention_num_buckets</c>.</summary>
    public int RelativeAttentionNumBuckets { get; init; } = 32;

    /// <summary><c>relative_attention_max_distance</c>.</summary>
    public int RelativeAttentionMaxDistance { get; init; } = 128;

    /// <summary><c>layer_norm_epsilon</c>.</summary>
    public double LayerNormEpsilon { get; init; } = 1e-6;

    /// <summary>Reads a transformers <c>config.json</c>; only T5 v1.1's gated-GELU feed-forward is implemented.</summary>
    public static T5Config Load(string path)
    {
        var json = JsonConfig.Load(path);
        string projection = json.ReadString("feed_forward_proj") ?? "relu";
        if (projection != "gated-gelu")
        {
            throw json.Invalid("feed_forward_proj", $"'{projection}' is not implemented (only T5 v1.1's gated-gelu is)");
        }

        string activation = json.ReadString("dense_act_fn") ?? "gelu_new";
        if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
        {
            throw json.Invalid("dense_act_fn", $"'{activation}' is not implemented (only the tanh GELU, gelu_new, is)");
        }

        var d = new T5Config();
        var config = new T5Config
        {
            VocabSize = json.ReadInt("vocab_size", d.VocabSize),
            DModel = json.ReadInt("d_model", d.DModel),
            DKv = json.ReadInt("d_kv", d.DKv),
            DFf = json.ReadInt("d_ff", d.DFf),
            NumLayers = json.ReadInt("num_layers", d.NumLayers),
            NumHeads = json.ReadInt("num_heads", d.NumHeads),
            RelativeAttentionNumBuckets = json.ReadInt("relative_attention_num_buckets", d.RelativeAttentionNumBuckets),
            RelativeAttentionMaxDistance = json.ReadInt("relative_attention_max_distance", d.RelativeAttentionMaxDistance),
            LayerNormEpsilon = json.ReadDouble("layer_norm_epsilon", d.LayerNormEpsilon),
        };
        foreach (var (field, value) in new[] { ("vocab_size", config.VocabSize), ("d_model", config.DModel), ("d_kv", config.DKv), ("d_ff", config.DFf), ("num_layers", config.NumLayers), ("num_heads", config.NumHeads), ("relative_attention_num_buckets", config.RelativeAttentionNumBuckets), ("relative_attention_max_distance", config.RelativeAttentionMaxDistance) })
        {
            if (value < 1)
            {
                throw json.Invalid(field, $"must be at least 1, found {value}");
            }
        }

        return config;
    }
}

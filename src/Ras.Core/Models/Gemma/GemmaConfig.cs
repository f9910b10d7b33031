using Ras.IO.Configs;

namespace Ras.Models.Gemma;

/// <summary>Activation of the Gemma MLP gate (transformers' <c>hidden_activation</c>).</summary>
public enum GemmaActivation
{
    /// <summary><c>gelu_pytorch_tanh</c> (also <c>gelu_new</c>): the tanh approximation, Gemma's activation.</summary>
    GeluTanh,

    /// <summary><c>gelu</c>: the exact erf GELU.</summary>
    Gelu,
}

/// <summary>Architecture of a Gemma decoder, field for field transformers' <c>GemmaConfig</c> (defaults as transformers: Gemma-7B).</summary>
public sealed record GemmaConfig
{
    /// <summary><c>vocab_size</c>.</summary>
    public int VocabSize { get; init; } = 256000;

    /// <summary><c>hidden_size</c>.</summary>
    public int HiddenSize { get; init; } = 3072;

    /// <summary><c>intermediate_size</c>: width of the gated MLP.</summary>
    public int IntermediateSize { get; init; } = 24576;

    /// <summary><c>num_hidden_layers</c>.</summary>
    public int NumHiddenLayers { get; init; } = 28;

    /// <summary><c>num_attention_heads</c>: query heads.</summary>
    public int NumAttentionHeads { get; init; } = 16;

    /// <summary><c>num_key_value_heads</c>: key/value heads, each shared by <c>heads / kv_heads</c> query heads (1 = multi-query, Gemma-2B).</summary>
    public int NumKeyValueHeads { get; init; } = 16;

    /// <summary><c>head_dim</c>: width of each head (need not equal <c>hidden_size / heads</c>).</summary>
    public int HeadDim { get; init; } = 256;

    /// <summary><c>hidden_activation</c> (absent or null: the tanh GELU, whatever <c>hidden_act</c> says, as transformers).</summary>
    public GemmaActivation HiddenActivation { get; init; } = GemmaActivation.GeluTanh;

    /// <summary><c>rms_norm_eps</c>.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary><c>rope_theta</c>: RoPE base.</summary>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary><c>attention_bias</c>: biases on the q/k/v/o projections.</summary>
    public bool AttentionBias { get; init; }

    /// <summary>Query heads per key/value head.</summary>
    public int KeyValueGroups => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>
    /// Reads a transformers <c>config.json</c> of <c>model_type</c> "gemma". Fields of the wrong type, and values this
    /// port does not implement (another model type, <c>rope_scaling</c>, an unknown activation), are errors naming the
    /// file and field.
    /// </summary>
    /// <exception cref="Errors.ConfigException">The file is missing or a field is invalid.</exception>
    public static GemmaConfig Load(string path)
    {
        var json = JsonConfig.Load(path);
        string? modelType = json.ReadString("model_type");
        if (modelType is not (null or "gemma"))
        {
            throw json.Invalid("model_type", $"is '{modelType}'; only 'gemma' is implemented (Gemma 2 and later differ: extra norms, soft-capping)");
        }

        if (json.Has("rope_scaling"))
        {
            throw json.Invalid("rope_scaling", "is not implemented (Gemma uses plain RoPE)");
        }

        string activation = json.ReadString("hidden_activation") ?? "gelu_pytorch_tanh";
        var d = new GemmaConfig();
        var config = new GemmaConfig
        {
            VocabSize = json.ReadInt("vocab_size", d.VocabSize),
            HiddenSize = json.ReadInt("hidden_size", d.HiddenSize),
            IntermediateSize = json.ReadInt("intermediate_size", d.IntermediateSize),
            NumHiddenLayers = json.ReadInt("num_hidden_layers", d.NumHiddenLayers),
            NumAttentionHeads = json.ReadInt("num_attention_heads", d.NumAttentionHeads),
            NumKeyValueHeads = json.ReadInt("num_key_value_heads", d.NumKeyValueHeads),
            HeadDim = json.ReadInt("head_dim", d.HeadDim),
            RmsNormEps = json.ReadDouble("rms_norm_eps", d.RmsNormEps),
            RopeTheta = json.ReadDouble("rope_theta", d.RopeTheta),
            AttentionBias = json.ReadBool("attention_bias", d.AttentionBias),
            HiddenActivation = activation switch
            {
                "gelu_pytorch_tanh" or "gelu_new" => GemmaActivation.GeluTanh,
                "gelu" => GemmaActivation.Gelu,
                _ => throw json.Invalid("hidden_activation", $"'{activation}' is not implemented (supported: gelu_pytorch_tanh, gelu_new, gelu)"),
            },
        };
        config.Validate(json);
        return config;
    }

    private void Validate(JsonConfig json)
    {
        foreach (var (field, value) in new[] { ("vocab_size", VocabSize), ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize), ("num_hidden_layers", NumHiddenLayers), ("num_attention_heads", NumAttentionHeads), ("num_key_value_heads", NumKeyValueHeads), ("head_dim", HeadDim) })
        {
            if (value < 1)
            {
                throw json.Invalid(field, $"must be at least 1, found {value}");
            }
        }

        if (NumAttentionHeads % NumKeyValueHeads != 0)
        {
            throw json.Invalid("num_key_value_heads", $"must divide num_attention_heads {NumAttentionHeads}, found {NumKeyValueHeads}");
        }

        if (HeadDim % 2 != 0)
        {
            throw json.Invalid("head_dim", $"must be even (RoPE rotates pairs of halves), found {HeadDim}");
        }

        if (!(RmsNormEps > 0))
        {
            throw json.Invalid("rms_norm_eps", $"must be positive, found {RmsNormEps}");
        }

        if (!(RopeTheta > 1))
        {
            throw json.Invalid("rope_theta", $"must be greater than 1, found {RopeTheta}");
        }
    }
}

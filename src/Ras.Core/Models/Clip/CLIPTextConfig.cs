using Ras.IO.Configs;

namespace Ras.Models.Clip;

/// <summary>Activation of the CLIP MLP (transformers' <c>hidden_act</c>).</summary>
public enum ClipActivation
{
    /// <summary><c>quick_gelu</c>: x·sigmoid(1.702x) (OpenAI CLIP-L).</summary>
    QuickGelu,

    /// <summary><c>gelu</c>: exact erf GELU (OpenCLIP bigG).</summary>
    Gelu,
}

/// <summary>Architecture of a CLIP text encoder, field for field transformers' <c>CLIPTextConfig</c> (defaults as transformers).</summary>
public sealed record CLIPTextConfig
{
    /// <summary><c>vocab_size</c>.</summary>
    public int VocabSize { get; init; } = 49408;

    /// <summary><c>hidden_size</c>.</summary>
    public int HiddenSize { get; init; } = 512;

    /// <summary><c>intermediate_size</c>.</summary>
    public int IntermediateSize { get; init; } = 2048;

    /// <summary><c>projection_dim</c>: width of <c>text_projection</c>.</summary>
    public int ProjectionDim { get; init; } = 512;

    /// <summary><c>num_hidden_layers</c>.</summary>
    public int NumHiddenLayers { get; init; } = 12;

    /// <summary><c>num_attention_heads</c>.</summary>
    public int NumAttentionHeads { get; init; } = 8;

    /// <summary><c>max_position_embeddings</c>.</summary>
    public int MaxPositionEmbeddings { get; init; } = 77;

    /// <summary><c>hidden_act</c>.</summary>
    public ClipActivation HiddenAct { get; init; } = ClipActivation.QuickGelu;

    /// <summary><c>layer_norm_eps</c>.</summary>
    public double LayerNormEps { get; init; } = 1e-5;

    /// <summary><c>eos_token_id</c>: 2 selects the legacy pooling rule (position of the largest id).</summary>
    public int EosTokenId { get; init; } = 2;

    /// <summary>Reads a transformers <c>config.json</c> of a CLIP text model.</summary>
    public static CLIPTextConfig Load(string path)
    {
        var json = JsonConfig.Load(path);
        var d = new CLIPTextConfig();
        string act = json.ReadString("hidden_act") ?? "quick_gelu";
        var config = new CLIPTextConfig
        {
            VocabSize = json.ReadInt("vocab_size", d.VocabSize),
            HiddenSize = json.ReadInt("hidden_size", d.HiddenSize),
            IntermediateSize = json.ReadInt("intermediate_size", d.IntermediateSize),
            ProjectionDim = json.ReadInt("projection_dim", d.ProjectionDim),
            NumHiddenLayers = json.ReadInt("num_hidden_layers", d.NumHiddenLayers),
            NumAttentionHeads = json.ReadInt("num_attention_heads", d.NumAttentionHeads),
            MaxPositionEmbeddings = json.ReadInt("max_position_embeddings", d.MaxPositionEmbeddings),
            LayerNormEps = json.ReadDouble("layer_norm_eps", d.LayerNormEps),
            EosTokenId = json.ReadInt("eos_token_id", d.EosTokenId),
            HiddenAct = act switch
            {
                "quick_gelu" => ClipActivation.QuickGelu,
                "gelu" => ClipActivation.Gelu,
                _ => throw json.Invalid("hidden_act", $"'{act}' is not implemented (supported: quick_gelu, gelu)"),
            },
        };
        foreach (var (field, value) in new[] { ("vocab_size", config.VocabSize), ("hidden_size", config.HiddenSize), ("intermediate_size", config.IntermediateSize), ("projection_dim", config.ProjectionDim), ("num_hidden_layers", config.NumHiddenLayers), ("num_attention_heads", config.NumAttentionHeads), ("max_position_embeddings", config.MaxPositionEmbeddings) })
        {
            if (value < 1)
            {
                throw json.Invalid(field, $"must be at least 1, found {value}");
            }
        }

        if (config.HiddenSize % config.NumAttentionHeads != 0)
        {
            throw json.Invalid("num_attention_heads", $"must divide hidden_size {config.HiddenSize}");
        }

        return config;
    }
}

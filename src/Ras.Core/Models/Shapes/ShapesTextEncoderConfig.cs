using Ras.IO.Configs;

namespace Ras.Models.Shapes;

/// <summary>Architecture of the default model's text encoder (<c>text_encoder/config.json</c>).</summary>
public sealed record ShapesTextEncoderConfig
{
    /// <summary>The class name written to <c>config.json</c>.</summary>
    public const string ClassName = "ShapesTextEncoder";

    /// <summary><c>vocab_size</c>.</summary>
    public int VocabSize { get; init; } = 64;

    /// <summary><c>max_position_embeddings</c>: tokens per prompt.</summary>
    public int MaxPositionEmbeddings { get; init; } = 32;

    /// <summary><c>hidden_size</c>: width of the per-token hidden states (the transformer's joint_attention_dim).</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary><c>num_hidden_layers</c>.</summary>
    public int NumHiddenLayers { get; init; } = 2;

    /// <summary><c>num_attention_heads</c>.</summary>
    public int NumAttentionHeads { get; init; } = 4;

    /// <summary><c>intermediate_size</c> of the MLP.</summary>
    public int IntermediateSize { get; init; } = 512;

    /// <summary><c>projection_dim</c>: width of the pooled vector (the transformer's pooled_projection_dim).</summary>
    public int ProjectionDim { get; init; } = 128;

    /// <summary>Reads <c>config.json</c>.</summary>
    public static ShapesTextEncoderConfig Load(string path)
    {
        var json = JsonConfig.Load(path);
        json.RequireClass(ClassName);
        var d = new ShapesTextEncoderConfig();
        var config = new ShapesTextEncoderConfig
        {
            VocabSize = json.ReadInt("vocab_size", d.VocabSize),
            MaxPositionEmbeddings = json.ReadInt("max_position_embeddings", d.MaxPositionEmbeddings),
            HiddenSize = json.ReadInt("hidden_size", d.HiddenSize),
            NumHiddenLayers = json.ReadInt("num_hidden_layers", d.NumHiddenLayers),
            NumAttentionHeads = json.ReadInt("num_attention_heads", d.NumAttentionHeads),
            IntermediateSize = json.ReadInt("intermediate_size", d.IntermediateSize),
            ProjectionDim = json.ReadInt("projection_dim", d.ProjectionDim),
        };
        foreach (var (field, value) in new[] { ("vocab_size", config.VocabSize), ("max_position_embeddings", config.MaxPositionEmbeddings), ("hidden_size", config.HiddenSize), ("num_hidden_layers", config.NumHiddenLayers), ("num_attention_heads", config.NumAttentionHeads), ("intermediate_size", config.IntermediateSize), ("projection_dim", config.ProjectionDim) })
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

    /// <summary>The <c>config.json</c> text.</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["_class_name"] = ClassName, ["vocab_size"] = VocabSize, ["max_position_embeddings"] = MaxPositionEmbeddings,
        ["hidden_size"] = HiddenSize, ["num_hidden_layers"] = NumHiddenLayers, ["num_attention_heads"] = NumAttentionHeads,
        ["intermediate_size"] = IntermediateSize, ["projection_dim"] = ProjectionDim,
    }, Indented);

    private static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true };
}

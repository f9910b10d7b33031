using Ras.Errors;
using Ras.IO.Configs;
using Ras.Models.Common;

namespace Ras.Models.SD3;

/// <summary>
/// Architecture of an SD3-family MMDiT, field for field diffusers' <c>SD3Transformer2DModel</c>
/// config (defaults as diffusers). Covers SD3-medium, SD3.5-large (qk RMS norm) and SD3.5-medium
/// (MMDiT-X dual-attention layers + qk RMS norm).
/// </summary>
public sealed record SD3TransformerConfig
{
    /// <summary>The diffusers class name this config describes.</summary>
    public const string ClassName = "SD3Transformer2DModel";

    /// <summary><c>sample_size</c>: native latent edge (pixels / 8); sets the initial position table's base size.</summary>
    public int SampleSize { get; init; } = 128;

    /// <summary><c>patch_size</c>: latent pixels per token edge.</summary>
    public int PatchSize { get; init; } = 2;

    /// <summary><c>in_channels</c>: latent channels.</summary>
    public int InChannels { get; init; } = 16;

    /// <summary><c>num_layers</c>: joint transformer blocks.</summary>
    public int NumLayers { get; init; } = 18;

    /// <summary><c>attention_head_dim</c>.</summary>
    public int AttentionHeadDim { get; init; } = 64;

    /// <summary><c>num_attention_heads</c>.</summary>
    public int NumAttentionHeads { get; init; } = 18;

    /// <summary><c>joint_attention_dim</c>: width of the prompt embeddings.</summary>
    public int JointAttentionDim { get; init; } = 4096;

    /// <summary><c>caption_projection_dim</c>: output width of <c>context_embedder</c> (equals the inner dim).</summary>
    public int CaptionProjectionDim { get; init; } = 1152;

    /// <summary><c>pooled_projection_dim</c>: width of the pooled prompt embedding.</summary>
    public int PooledProjectionDim { get; init; } = 2048;

    /// <summary><c>out_channels</c> (null in the file means <c>in_channels</c>).</summary>
    public int OutChannels { get; init; } = 16;

    /// <summary><c>pos_embed_max_size</c>: edge of the stored position table, in patches.</summary>
    public int PosEmbedMaxSize { get; init; } = 96;

    /// <summary><c>dual_attention_layers</c>: blocks with the extra image-only attention (MMDiT-X).</summary>
    public IReadOnlyList<int> DualAttentionLayers { get; init; } = [];

    /// <summary><c>qk_norm</c>.</summary>
    public QkNorm QkNorm { get; init; } = QkNorm.None;

    /// <summary>Token width: heads × head dim.</summary>
    public int InnerDim => NumAttentionHeads * AttentionHeadDim;

    /// <summary>Throws <see cref="OptionsException"/> (named by the config field) when the values cannot form a model.</summary>
    public void Validate()
    {
        foreach (var (field, problem) in Problems())
        {
            throw new OptionsException(field, problem);
        }
    }

    /// <summary>Every inconsistency, as (config field, problem).</summary>
    private IEnumerable<(string Field, string Problem)> Problems()
    {
        var positive = new (string Field, int Value)[]
        {
            ("patch_size", PatchSize), ("in_channels", InChannels), ("out_channels", OutChannels), ("num_layers", NumLayers),
            ("attention_head_dim", AttentionHeadDim), ("num_attention_heads", NumAttentionHeads),
            ("joint_attention_dim", JointAttentionDim), ("pooled_projection_dim", PooledProjectionDim),
            ("pos_embed_max_size", PosEmbedMaxSize), ("sample_size", SampleSize),
        };
        foreach (var (field, value) in positive.Where(p => p.Value < 1))
        {
            yield return (field, $"must be at least 1, found {value}");
        }

        if (InnerDim % 4 != 0)
        {
            yield return ("attention_head_dim", $"heads × head dim = {InnerDim} must be divisible by 4 (2-D sin-cos position table)");
        }

        if (CaptionProjectionDim != InnerDim)
        {
            yield return ("caption_projection_dim", $"is {CaptionProjectionDim} but the blocks are {InnerDim} wide (heads × head dim); only equal widths are implemented");
        }

        foreach (int layer in DualAttentionLayers.Where(l => l < 0 || l >= NumLayers))
        {
            yield return ("dual_attention_layers", $"layer {layer} is outside 0..{NumLayers - 1}");
        }
    }

    /// <summary>The diffusers <c>config.json</c> text for this architecture.</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["_class_name"] = ClassName, ["sample_size"] = SampleSize, ["patch_size"] = PatchSize, ["in_channels"] = InChannels,
        ["num_layers"] = NumLayers, ["attention_head_dim"] = AttentionHeadDim, ["num_attention_heads"] = NumAttentionHeads,
        ["joint_attention_dim"] = JointAttentionDim, ["caption_projection_dim"] = CaptionProjectionDim,
        ["pooled_projection_dim"] = PooledProjectionDim, ["out_channels"] = OutChannels, ["pos_embed_max_size"] = PosEmbedMaxSize,
        ["dual_attention_layers"] = DualAttentionLayers, ["qk_norm"] = QkNorm == QkNorm.RmsNorm ? "rms_norm" : null,
    }, JsonWriting);

    private static readonly System.Text.Json.JsonSerializerOptions JsonWriting = new() { WriteIndented = true };

    /// <summary>Reads a diffusers <c>transformer/config.json</c>.</summary>
    /// <exception cref="ConfigException">Wrong class, a field of the wrong type, or a value not implemented.</exception>
    public static SD3TransformerConfig Load(string configPath) => FromJson(JsonConfig.Load(configPath));

    /// <summary>Builds the config from parsed JSON.</summary>
    public static SD3TransformerConfig FromJson(JsonConfig json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.RequireClass(ClassName);
        var defaults = new SD3TransformerConfig();
        int inChannels = json.ReadInt("in_channels", defaults.InChannels);
        string? qkNorm = json.ReadString("qk_norm");
        var config = new SD3TransformerConfig
        {
            SampleSize = json.ReadInt("sample_size", defaults.SampleSize),
            PatchSize = json.ReadInt("patch_size", defaults.PatchSize),
            InChannels = inChannels,
            NumLayers = json.ReadInt("num_layers", defaults.NumLayers),
            AttentionHeadDim = json.ReadInt("attention_head_dim", defaults.AttentionHeadDim),
            NumAttentionHeads = json.ReadInt("num_attention_heads", defaults.NumAttentionHeads),
            JointAttentionDim = json.ReadInt("joint_attention_dim", defaults.JointAttentionDim),
            CaptionProjectionDim = json.ReadInt("caption_projection_dim", defaults.CaptionProjectionDim),
            PooledProjectionDim = json.ReadInt("pooled_projection_dim", defaults.PooledProjectionDim),
            OutChannels = json.ReadNullableInt("out_channels") ?? inChannels,
            PosEmbedMaxSize = json.ReadInt("pos_embed_max_size", defaults.PosEmbedMaxSize),
            DualAttentionLayers = json.ReadIntList("dual_attention_layers", []),
            QkNorm = qkNorm switch
            {
                null => QkNorm.None,
                "rms_norm" => QkNorm.RmsNorm,
                _ => throw json.Invalid("qk_norm", $"'{qkNorm}' is not implemented (supported: null, \"rms_norm\")"),
            },
        };

        foreach (var (field, problem) in config.Problems())
        {
            throw json.Invalid(field, problem);
        }

        return config;
    }
}

using Ras.Errors;
using Ras.IO.Configs;

namespace Ras.Models.Flux;

/// <summary>
/// Architecture of a FLUX.1 transformer, field for field diffusers' <c>FluxTransformer2DModel</c> config (defaults as
/// diffusers, i.e. FLUX.1's full size). FLUX.1-dev style models embed a guidance value (<c>guidance_embeds</c>);
/// FLUX.1-schnell style ones do not.
/// </summary>
public sealed record FluxTransformerConfig
{
    /// <summary>The diffusers class name this config describes.</summary>
    public const string ClassName = "FluxTransformer2DModel";

    /// <summary>
    /// <c>patch_size</c>: 1 — the transformer works on packed tokens (each a 2×2 latent patch, see
    /// <see cref="FluxLatents"/>); diffusers' <c>x_embedder</c> ignores any other value, so only 1 is accepted.
    /// </summary>
    public int PatchSize { get; init; } = 1;

    /// <summary><c>in_channels</c>: features per packed token (16 latent channels × 2×2 = 64).</summary>
    public int InChannels { get; init; } = 64;

    /// <summary><c>out_channels</c> (null in the file means <c>in_channels</c>).</summary>
    public int OutChannels { get; init; } = 64;

    /// <summary><c>num_layers</c>: double-stream blocks (<c>transformer_blocks</c>).</summary>
    public int NumLayers { get; init; } = 19;

    /// <summary><c>num_single_layers</c>: single-stream blocks (<c>single_transformer_blocks</c>).</summary>
    public int NumSingleLayers { get; init; } = 38;

    /// <summary><c>attention_head_dim</c>.</summary>
    public int AttentionHeadDim { get; init; } = 128;

    /// <summary><c>num_attention_heads</c>.</summary>
    public int NumAttentionHeads { get; init; } = 24;

    /// <summary><c>joint_attention_dim</c>: width of the prompt embeddings (T5).</summary>
    public int JointAttentionDim { get; init; } = 4096;

    /// <summary><c>pooled_projection_dim</c>: width of the pooled prompt embedding (CLIP).</summary>
    public int PooledProjectionDim { get; init; } = 768;

    /// <summary><c>guidance_embeds</c>: the model takes a guidance value (FLUX.1-dev) embedded like the timestep.</summary>
    public bool GuidanceEmbeds { get; init; }

    /// <summary><c>axes_dims_rope</c>: RoPE widths of the three position axes (they sum to the head width).</summary>
    public IReadOnlyList<int> AxesDimsRope { get; init; } = [16, 56, 56];

    /// <summary>Token width: heads × head dim.</summary>
    public int InnerDim => NumAttentionHeads * AttentionHeadDim;

    /// <summary>Hidden width of every MLP (diffusers' fixed <c>mlp_ratio</c> 4).</summary>
    public int MlpHiddenDim => 4 * InnerDim;

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
            ("in_channels", InChannels), ("out_channels", OutChannels), ("attention_head_dim", AttentionHeadDim), ("num_attention_heads", NumAttentionHeads),
            ("joint_attention_dim", JointAttentionDim), ("pooled_projection_dim", PooledProjectionDim),
        };
        foreach (var (field, value) in positive.Where(p => p.Value < 1))
        {
            yield return (field, $"must be at least 1, found {value}");
        }

        foreach (var (field, value) in new[] { ("num_layers", NumLayers), ("num_single_layers", NumSingleLayers) }.Where(p => p.Item2 < 0))
        {
            yield return (field, $"must be at least 0, found {value}");
        }

        if (PatchSize != 1)
        {
            yield return ("patch_size", $"is {PatchSize}; only 1 is implemented (the transformer works on packed 2×2 tokens)");
        }

        if (AxesDimsRope.Count != 3)
        {
            yield return ("axes_dims_rope", $"has {AxesDimsRope.Count} entries; position ids have 3 axes (index, row, column)");
        }
        else if (AxesDimsRope.Any(d => d < 2 || d % 2 != 0))
        {
            yield return ("axes_dims_rope", $"[{string.Join(", ", AxesDimsRope)}]: every axis width must be even and at least 2");
        }
        else if (AxesDimsRope.Sum() != AttentionHeadDim)
        {
            yield return ("axes_dims_rope", $"[{string.Join(", ", AxesDimsRope)}] sums to {AxesDimsRope.Sum()}, not attention_head_dim {AttentionHeadDim}");
        }
    }

    /// <summary>The diffusers <c>config.json</c> text for this architecture.</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["_class_name"] = ClassName, ["patch_size"] = PatchSize, ["in_channels"] = InChannels, ["out_channels"] = OutChannels,
        ["num_layers"] = NumLayers, ["num_single_layers"] = NumSingleLayers, ["attention_head_dim"] = AttentionHeadDim,
        ["num_attention_heads"] = NumAttentionHeads, ["joint_attention_dim"] = JointAttentionDim,
        ["pooled_projection_dim"] = PooledProjectionDim, ["guidance_embeds"] = GuidanceEmbeds, ["axes_dims_rope"] = AxesDimsRope,
    }, JsonWriting);

    private static readonly System.Text.Json.JsonSerializerOptions JsonWriting = new() { WriteIndented = true };

    /// <summary>Reads a diffusers <c>transformer/config.json</c>.</summary>
    /// <exception cref="ConfigException">Wrong class, a field of the wrong type, or a value not implemented.</exception>
    public static FluxTransformerConfig Load(string configPath) => FromJson(JsonConfig.Load(configPath));

    /// <summary>Builds the config from parsed JSON.</summary>
    /// <exception cref="ConfigException">Wrong class, a field of the wrong type, or a value not implemented.</exception>
    public static FluxTransformerConfig FromJson(JsonConfig json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.RequireClass(ClassName);
        var defaults = new FluxTransformerConfig();
        int inChannels = json.ReadInt("in_channels", defaults.InChannels);
        var config = new FluxTransformerConfig
        {
            PatchSize = json.ReadInt("patch_size", defaults.PatchSize),
            InChannels = inChannels,
            OutChannels = json.ReadNullableInt("out_channels") ?? inChannels,
            NumLayers = json.ReadInt("num_layers", defaults.NumLayers),
            NumSingleLayers = json.ReadInt("num_single_layers", defaults.NumSingleLayers),
            AttentionHeadDim = json.ReadInt("attention_head_dim", defaults.AttentionHeadDim),
            NumAttentionHeads = json.ReadInt("num_attention_heads", defaults.NumAttentionHeads),
            JointAttentionDim = json.ReadInt("joint_attention_dim", defaults.JointAttentionDim),
            PooledProjectionDim = json.ReadInt("pooled_projection_dim", defaults.PooledProjectionDim),
            GuidanceEmbeds = json.ReadBool("guidance_embeds", defaults.GuidanceEmbeds),
            AxesDimsRope = json.ReadIntList("axes_dims_rope", [.. defaults.AxesDimsRope]),
        };

        foreach (var (field, problem) in config.Problems())
        {
            throw json.Invalid(field, problem);
        }

        return config;
    }
}

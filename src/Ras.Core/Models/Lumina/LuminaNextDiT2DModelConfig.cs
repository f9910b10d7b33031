using System.Globalization;
using Ras.Errors;
using Ras.IO.Configs;

namespace Ras.Models.Lumina;

/// <summary>
/// Architecture of a Lumina-Next DiT, field for field diffusers' <c>LuminaNextDiT2DModel</c> config
/// (defaults as diffusers 0.32).
/// </summary>
public sealed record LuminaNextDiT2DModelConfig
{
    /// <summary>The diffusers class name this config describes.</summary>
    public const string ClassName = "LuminaNextDiT2DModel";

    /// <summary><c>sample_size</c>: trained latent edge; the pipeline derives its RoPE scaling and proportional-attention base from it.</summary>
    public int SampleSize { get; init; } = 128;

    /// <summary><c>patch_size</c>: latent pixels per token edge.</summary>
    public int PatchSize { get; init; } = 2;

    /// <summary><c>in_channels</c>: latent channels.</summary>
    public int InChannels { get; init; } = 4;

    /// <summary><c>hidden_size</c>: token width D.</summary>
    public int HiddenSize { get; init; } = 2304;

    /// <summary><c>num_layers</c>: transformer blocks.</summary>
    public int NumLayers { get; init; } = 32;

    /// <summary><c>num_attention_heads</c>: query heads h.</summary>
    public int NumAttentionHeads { get; init; } = 32;

    /// <summary><c>num_kv_heads</c>: key/value heads g (grouped-query attention); null means <see cref="NumAttentionHeads"/>.</summary>
    public int? NumKvHeads { get; init; }

    /// <summary><c>multiple_of</c>: the feed-forward width is rounded up to a multiple of this.</summary>
    public int MultipleOf { get; init; } = 256;

    /// <summary><c>ffn_dim_multiplier</c>: optional factor on the feed-forward width before rounding.</summary>
    public double? FfnDimMultiplier { get; init; }

    /// <summary><c>norm_eps</c>: epsilon of the blocks' RMS norms.</summary>
    public double NormEps { get; init; } = 1e-5;

    /// <summary><c>learn_sigma</c>: the model also predicts a variance, so it outputs 2·<see cref="InChannels"/> channels.</summary>
    public bool LearnSigma { get; init; } = true;

    /// <summary><c>qk_norm</c>: LayerNorm (across heads) on queries and keys of both attentions.</summary>
    public bool QkNorm { get; init; } = true;

    /// <summary><c>cross_attention_dim</c>: width of the caption features.</summary>
    public int CrossAttentionDim { get; init; } = 2048;

    /// <summary><c>scaling_factor</c>: stored by diffusers but not used by the model or the pipeline.</summary>
    public double ScalingFactor { get; init; } = 1.0;

    /// <summary>Key/value heads actually used.</summary>
    public int KvHeads => NumKvHeads ?? NumAttentionHeads;

    /// <summary>Width of each attention head (D / h).</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Output channels: 2·C with a learned sigma, else C.</summary>
    public int OutChannels => LearnSigma ? 2 * InChannels : InChannels;

    /// <summary>Width of the timestep + caption conditioning vector: min(D, 1024).</summary>
    public int ConditioningDim => Math.Min(HiddenSize, 1024);

    /// <summary>
    /// Feed-forward inner width, as diffusers' <c>LuminaFeedForward</c>: <c>int(8D/3)</c>, times the multiplier
    /// (truncated) when given, rounded up to a multiple of <see cref="MultipleOf"/>.
    /// </summary>
    public int FeedForwardDim
    {
        get
        {
            int inner = (int)(4 * 2 * (double)HiddenSize / 3);
            if (FfnDimMultiplier is double multiplier)
            {
                inner = (int)(multiplier * inner);
            }

            return MultipleOf * ((inner + MultipleOf - 1) / MultipleOf);
        }
    }

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
            ("sample_size", SampleSize), ("patch_size", PatchSize), ("in_channels", InChannels), ("hidden_size", HiddenSize),
            ("num_layers", NumLayers), ("num_attention_heads", NumAttentionHeads), ("num_kv_heads", KvHeads),
            ("multiple_of", MultipleOf), ("cross_attention_dim", CrossAttentionDim),
        };
        foreach (var (field, value) in positive.Where(p => p.Value < 1))
        {
            yield return (field, $"must be at least 1, found {value}");
        }

        if (NumAttentionHeads < 1 || KvHeads < 1)
        {
            yield break;
        }

        if (HiddenSize % NumAttentionHeads != 0)
        {
            yield return ("hidden_size", $"{HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        }
        else if (HeadDim % 4 != 0)
        {
            yield return ("hidden_size", $"head dim {HeadDim} (hidden_size / num_attention_heads) must be divisible by 4 (2-D RoPE)");
        }

        if (NumAttentionHeads % KvHeads != 0)
        {
            yield return ("num_kv_heads", $"{KvHeads} does not divide num_attention_heads {NumAttentionHeads} (grouped-query attention)");
        }

        if (FfnDimMultiplier is double multiplier && !(multiplier > 0 && double.IsFinite(multiplier)))
        {
            yield return ("ffn_dim_multiplier", $"must be a positive number or null, found {multiplier.ToString(CultureInfo.InvariantCulture)}");
        }

        if (!(NormEps > 0 && double.IsFinite(NormEps)))
        {
            yield return ("norm_eps", $"must be a positive number, found {NormEps.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    /// <summary>The diffusers <c>config.json</c> text for this architecture.</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["_class_name"] = ClassName, ["sample_size"] = SampleSize, ["patch_size"] = PatchSize, ["in_channels"] = InChannels,
        ["hidden_size"] = HiddenSize, ["num_layers"] = NumLayers, ["num_attention_heads"] = NumAttentionHeads,
        ["num_kv_heads"] = NumKvHeads, ["multiple_of"] = MultipleOf, ["ffn_dim_multiplier"] = FfnDimMultiplier,
        ["norm_eps"] = NormEps, ["learn_sigma"] = LearnSigma, ["qk_norm"] = QkNorm, ["cross_attention_dim"] = CrossAttentionDim,
        ["scaling_factor"] = ScalingFactor,
    }, JsonWriting);

    private static readonly System.Text.Json.JsonSerializerOptions JsonWriting = new() { WriteIndented = true };

    /// <summary>Reads a diffusers <c>transformer/config.json</c>.</summary>
    /// <exception cref="ConfigException">Wrong class, a field of the wrong type, or values that cannot form a model.</exception>
    public static LuminaNextDiT2DModelConfig Load(string configPath) => FromJson(JsonConfig.Load(configPath));

    /// <summary>Builds the config from parsed JSON.</summary>
    /// <exception cref="ConfigException">Wrong class, a field of the wrong type, or values that cannot form a model.</exception>
    public static LuminaNextDiT2DModelConfig FromJson(JsonConfig json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.RequireClass(ClassName);
        var defaults = new LuminaNextDiT2DModelConfig();
        var config = new LuminaNextDiT2DModelConfig
        {
            SampleSize = json.ReadInt("sample_size", defaults.SampleSize),
            PatchSize = json.ReadInt("patch_size", defaults.PatchSize),
            InChannels = json.ReadInt("in_channels", defaults.InChannels),
            HiddenSize = json.ReadInt("hidden_size", defaults.HiddenSize),
            NumLayers = json.ReadInt("num_layers", defaults.NumLayers),
            NumAttentionHeads = json.ReadInt("num_attention_heads", defaults.NumAttentionHeads),
            NumKvHeads = json.ReadNullableInt("num_kv_heads"),
            MultipleOf = json.ReadInt("multiple_of", defaults.MultipleOf),
            FfnDimMultiplier = json.ReadNullableDouble("ffn_dim_multiplier"),
            NormEps = json.ReadDouble("norm_eps", defaults.NormEps),
            LearnSigma = json.ReadBool("learn_sigma", defaults.LearnSigma),
            QkNorm = json.ReadBool("qk_norm", defaults.QkNorm),
            CrossAttentionDim = json.ReadInt("cross_attention_dim", defaults.CrossAttentionDim),
            ScalingFactor = json.ReadDouble("scaling_factor", defaults.ScalingFactor),
        };

        foreach (var (field, problem) in config.Problems())
        {
            throw json.Invalid(field, problem);
        }

        return config;
    }
}

using Ras.IO.Configs;

namespace Ras.Models.Vae;

/// <summary>diffusers <c>AutoencoderKL</c> config (defaults as diffusers). SD3: 16 latent channels, no quant convs.</summary>
public sealed record AutoencoderKLConfig
{
    /// <summary>The diffusers class name.</summary>
    public const string ClassName = "AutoencoderKL";

    /// <summary><c>in_channels</c>.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary><c>out_channels</c>.</summary>
    public int OutChannels { get; init; } = 3;

    /// <summary><c>latent_channels</c>.</summary>
    public int LatentChannels { get; init; } = 4;

    /// <summary><c>block_out_channels</c>.</summary>
    public IReadOnlyList<int> BlockOutChannels { get; init; } = [64];

    /// <summary><c>layers_per_block</c>.</summary>
    public int LayersPerBlock { get; init; } = 1;

    /// <summary><c>norm_num_groups</c>.</summary>
    public int NormNumGroups { get; init; } = 32;

    /// <summary><c>scaling_factor</c>.</summary>
    public double ScalingFactor { get; init; } = 0.18215;

    /// <summary><c>shift_factor</c> (null in the file means 0).</summary>
    public double ShiftFactor { get; init; }

    /// <summary><c>use_quant_conv</c>: a 1×1 conv after the encoder.</summary>
    public bool UseQuantConv { get; init; } = true;

    /// <summary><c>use_post_quant_conv</c>: a 1×1 conv before the decoder.</summary>
    public bool UsePostQuantConv { get; init; } = true;

    /// <summary><c>mid_block_add_attention</c>.</summary>
    public bool MidBlockAddAttention { get; init; } = true;

    /// <summary>Pixels per latent pixel: 2^(blocks − 1).</summary>
    public int ScaleFactor => 1 << (BlockOutChannels.Count - 1);

    /// <summary>Reads <c>vae/config.json</c>.</summary>
    public static AutoencoderKLConfig Load(string path)
    {
        var json = JsonConfig.Load(path);
        json.RequireClass(ClassName);
        string act = json.ReadString("act_fn") ?? "silu";
        if (act != "silu")
        {
            throw json.Invalid("act_fn", $"'{act}' is not implemented (only silu is)");
        }

        var d = new AutoencoderKLConfig();
        var config = new AutoencoderKLConfig
        {
            InChannels = json.ReadInt("in_channels", d.InChannels),
            OutChannels = json.ReadInt("out_channels", d.OutChannels),
            LatentChannels = json.ReadInt("latent_channels", d.LatentChannels),
            BlockOutChannels = json.ReadIntList("block_out_channels", [.. d.BlockOutChannels]),
            LayersPerBlock = json.ReadInt("layers_per_block", d.LayersPerBlock),
            NormNumGroups = json.ReadInt("norm_num_groups", d.NormNumGroups),
            ScalingFactor = json.ReadDouble("scaling_factor", d.ScalingFactor),
            ShiftFactor = json.ReadNullableDouble("shift_factor") ?? 0,
            UseQuantConv = json.ReadBool("use_quant_conv", d.UseQuantConv),
            UsePostQuantConv = json.ReadBool("use_post_quant_conv", d.UsePostQuantConv),
            MidBlockAddAttention = json.ReadBool("mid_block_add_attention", d.MidBlockAddAttention),
        };
        foreach (var (field, value) in new[] { ("in_channels", config.InChannels), ("out_channels", config.OutChannels), ("latent_channels", config.LatentChannels), ("layers_per_block", config.LayersPerBlock), ("norm_num_groups", config.NormNumGroups) })
        {
            if (value < 1)
            {
                throw json.Invalid(field, $"is {value}; it must be at least 1");
            }
        }

        if (config.BlockOutChannels.Count > 8)
        {
            throw json.Invalid("block_out_channels", $"has {config.BlockOutChannels.Count} blocks; at most 8 are supported (a downsampling factor of 128)");
        }

        CheckBlockTypes(json, "down_block_types", "DownEncoderBlock2D", config.BlockOutChannels.Count);
        CheckBlockTypes(json, "up_block_types", "UpDecoderBlock2D", config.BlockOutChannels.Count);
        if (config.BlockOutChannels.Count == 0 || config.BlockOutChannels.Any(c => c < 1 || c % config.NormNumGroups != 0))
        {
            throw json.Invalid("block_out_channels", $"must be positive multiples of norm_num_groups ({config.NormNumGroups})");
        }

        return config;
    }

    private static void CheckBlockTypes(JsonConfig json, string field, string expected, int count)
    {
        // Only the plain encoder/decoder blocks are implemented.
        if (json.ReadStringList(field) is string[] types && (types.Length != count || types.Any(t => t != expected)))
        {
            throw json.Invalid(field, $"[{string.Join(", ", types)}] is not implemented (expected {count} × {expected})");
        }
    }
}

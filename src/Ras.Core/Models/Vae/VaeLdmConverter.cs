using Ras.Errors;
using Ras.IO.Checkpoints;

namespace Ras.Models.Vae;

/// <summary>
/// Reads the original latent-diffusion VAE layout (Stability's single files under <c>first_stage_model.</c>, Black Forest Labs'
/// <c>ae.safetensors</c> with no prefix:
/// <c>encoder.down.0.block.0.norm1</c>, <c>mid.attn_1.q</c> as 1×1 convs, decoder blocks numbered bottom-up) as
/// diffusers <c>AutoencoderKL</c> keys. Mirrors diffusers <c>convert_ldm_vae_checkpoint</c> (loaders/single_file_utils.py).
/// </summary>
public static class VaeLdmConverter
{
    /// <summary>Key prefix of the VAE in Stability single files.</summary>
    public const string Prefix = "first_stage_model.";

    /// <summary>A key every LDM-layout VAE has and diffusers' layout never does (its mid block is <c>mid_block.resnets.0</c>).</summary>
    public const string MarkerKey = "decoder.mid.block_1.conv1.weight";

    /// <summary>True when <paramref name="source"/> holds an LDM-layout VAE under <paramref name="prefix"/>.</summary>
    public static bool Matches(ITensorSource source, string prefix = Prefix) => source?.Contains(prefix + MarkerKey) == true;

    /// <summary>The diffusers view of the VAE under <paramref name="prefix"/> (empty for a bare <c>ae.safetensors</c>) for <paramref name="config"/>.</summary>
    public static MappedTensorSource Convert(ITensorSource source, AutoencoderKLConfig config, string prefix = Prefix)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(prefix);
        if (!Matches(source, prefix))
        {
            throw new RasInputException($"{source.Source}: no VAE found (expected keys like {prefix}{MarkerKey})");
        }

        var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal);
        void Pair(string target, string from)
        {
            map[target + ".weight"] = TensorMapping.Copy(prefix + from + ".weight");
            map[target + ".bias"] = TensorMapping.Copy(prefix + from + ".bias");
        }

        void Resnet(string target, string from, bool shortcut)
        {
            foreach (string part in new[] { "norm1", "conv1", "norm2", "conv2" })
            {
                Pair($"{target}.{part}", $"{from}.{part}");
            }

            if (shortcut)
            {
                Pair($"{target}.conv_shortcut", $"{from}.nin_shortcut");
            }
        }

        void Mid(string side, int channels)
        {
            Resnet($"{side}.mid_block.resnets.0", $"{side}.mid.block_1", false);
            Resnet($"{side}.mid_block.resnets.1", $"{side}.mid.block_2", false);
            if (!config.MidBlockAddAttention)
            {
                return;
            }

            Pair($"{side}.mid_block.attentions.0.group_norm", $"{side}.mid.attn_1.norm");
            foreach (var (to, from) in new[] { ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out") })
            {
                // The original stores the projections as 1×1 convolutions.
                map[$"{side}.mid_block.attentions.0.{to}.weight"] = TensorMapping.Reshaped($"{prefix}{side}.mid.attn_1.{from}.weight", [channels, channels]);
                map[$"{side}.mid_block.attentions.0.{to}.bias"] = TensorMapping.Copy($"{prefix}{side}.mid.attn_1.{from}.bias");
            }
        }

        var channels = config.BlockOutChannels;
        int blocks = channels.Count;
        Pair("encoder.conv_in", "encoder.conv_in");
        for (int i = 0; i < blocks; i++)
        {
            for (int j = 0; j < config.LayersPerBlock; j++)
            {
                bool shortcut = j == 0 && i > 0 && channels[i - 1] != channels[i];
                Resnet($"encoder.down_blocks.{i}.resnets.{j}", $"encoder.down.{i}.block.{j}", shortcut);
            }

            if (i < blocks - 1)
            {
                Pair($"encoder.down_blocks.{i}.downsamplers.0.conv", $"encoder.down.{i}.downsample.conv");
            }
        }

        Mid("encoder", channels[^1]);
        Pair("encoder.conv_norm_out", "encoder.norm_out");
        Pair("encoder.conv_out", "encoder.conv_out");

        var reversed = channels.Reverse().ToArray();
        Pair("decoder.conv_in", "decoder.conv_in");
        Mid("decoder", reversed[0]);
        for (int i = 0; i < blocks; i++)
        {
            int original = blocks - 1 - i;   // the original numbers decoder blocks from the output side
            for (int j = 0; j < config.LayersPerBlock + 1; j++)
            {
                bool shortcut = j == 0 && i > 0 && reversed[i - 1] != reversed[i];
                Resnet($"decoder.up_blocks.{i}.resnets.{j}", $"decoder.up.{original}.block.{j}", shortcut);
            }

            if (i < blocks - 1)
            {
                Pair($"decoder.up_blocks.{i}.upsamplers.0.conv", $"decoder.up.{original}.upsample.conv");
            }
        }

        Pair("decoder.conv_norm_out", "decoder.norm_out");
        Pair("decoder.conv_out", "decoder.conv_out");
        if (config.UseQuantConv)
        {
            Pair("quant_conv", "quant_conv");
        }

        if (config.UsePostQuantConv)
        {
            Pair("post_quant_conv", "post_quant_conv");
        }

        return new MappedTensorSource(source, map);
    }
}

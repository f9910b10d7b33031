using Ras.IO.Checkpoints;

namespace Ras.Models.Vae;

/// <summary>
/// The architecture of a VAE read from its tensor shapes, for files that come without a <c>config.json</c> (a single file's
/// VAE, a separate <c>ae.safetensors</c>): channels, block widths, blocks per level, latent channels and whether it has
/// (post-)quant convs. What shapes cannot tell — the group count, the scaling and shift factors — comes from the family's
/// standard config. Both the original (LDM / BFL) layout and diffusers' are read.
/// </summary>
public static class VaeShapes
{
    /// <summary>
    /// <paramref name="standard"/> with every shape-given field read from <paramref name="source"/> under <paramref name="prefix"/>;
    /// <paramref name="standard"/> itself when the keys are not there (the strict loader then reports what is missing).
    /// </summary>
    public static AutoencoderKLConfig Infer(ITensorSource source, string prefix, AutoencoderKLConfig standard)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(standard);
        bool ldm = VaeLdmConverter.Matches(source, prefix);
        string level = ldm ? "encoder.down." : "encoder.down_blocks.";
        string block = ldm ? ".block." : ".resnets.";
        string Conv(int i, int j) => $"{prefix}{level}{i}{block}{j}.conv2.weight";
        string encoderIn = prefix + "encoder.conv_in.weight", decoderIn = prefix + "decoder.conv_in.weight", decoderOut = prefix + "decoder.conv_out.weight";
        if (!source.Contains(encoderIn) || !source.Contains(decoderIn) || !source.Contains(decoderOut) || !source.Contains(Conv(0, 0)))
        {
            return standard;
        }

        var widths = new List<int>();
        for (int i = 0; source.Contains(Conv(i, 0)); i++)
        {
            widths.Add((int)source.ShapeOf(Conv(i, 0))[0]);
        }

        int layers = 0;
        while (source.Contains(Conv(0, layers)))
        {
            layers++;
        }

        return standard with
        {
            InChannels = (int)source.ShapeOf(encoderIn)[1],
            OutChannels = (int)source.ShapeOf(decoderOut)[0],
            LatentChannels = (int)source.ShapeOf(decoderIn)[1],
            BlockOutChannels = widths,
            LayersPerBlock = layers,
            UseQuantConv = source.Contains(prefix + "quant_conv.weight"),
            UsePostQuantConv = source.Contains(prefix + "post_quant_conv.weight"),
            MidBlockAddAttention = source.Contains(prefix + (ldm ? "encoder.mid.attn_1.q.weight" : "encoder.mid_block.attentions.0.to_q.weight")),
        };
    }
}

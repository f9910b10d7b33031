using Ras.Models.Common;
using Ras.IO.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Vae;

/// <summary>The encoder's posterior: a diagonal Gaussian per latent pixel.</summary>
/// <param name="Mean"><c>[B, C, h, w]</c>.</param>
/// <param name="LogVar"><c>[B, C, h, w]</c>, clamped to [−30, 20] as diffusers does.</param>
public sealed record LatentPosterior(Tensor Mean, Tensor LogVar) : IDisposable
{
    /// <summary><c>exp(0.5·logvar)</c>.</summary>
    public Tensor Std() => LogVar.mul(0.5).exp();

    /// <summary><c>mean + std·noise</c> (diffusers' <c>DiagonalGaussianDistribution.sample</c> with given noise).</summary>
    public Tensor Sample(Tensor noise)
    {
        using Tensor std = Std();
        return Mean.add(std.mul(noise));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
    }
}

/// <summary>
/// The KL autoencoder of latent diffusion. Mirrors diffusers <c>AutoencoderKL</c>
/// (models/autoencoders/autoencoder_kl.py, vae.py) with its keys; <c>quant_conv</c>/<c>post_quant_conv</c> exist
/// only when the config asks for them (SD3: neither; SDXL-style VAEs: both).
/// </summary>
public sealed class AutoencoderKL : nn.Module
{
    private readonly VaeEncoder encoder;
    private readonly VaeDecoder decoder;
    private readonly Conv2d? quant_conv;
    private readonly Conv2d? post_quant_conv;

    /// <summary>Builds a randomly initialised autoencoder.</summary>
    public AutoencoderKL(AutoencoderKLConfig config)
        : base(nameof(AutoencoderKL))
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        encoder = new VaeEncoder(config);
        decoder = new VaeDecoder(config);
        if (config.UseQuantConv)
        {
            quant_conv = nn.Conv2d(2 * config.LatentChannels, 2 * config.LatentChannels, 1, device: ModuleConstruction.Device);
        }

        if (config.UsePostQuantConv)
        {
            post_quant_conv = nn.Conv2d(config.LatentChannels, config.LatentChannels, 1, device: ModuleConstruction.Device);
        }

        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public AutoencoderKLConfig Config { get; }

    /// <summary>Loads a diffusers <c>vae/</c> folder in float32.</summary>
    public static AutoencoderKL FromPretrained(string folder, Device? device = null)
    {
        var config = AutoencoderKLConfig.Load(Path.Combine(folder, "config.json"));
        var model = UninitializedModules.Construct(() => new AutoencoderKL(config));   // every weight is bound below
        return ModelLoader.Bind(model, m =>
        {
            using var store = TensorStore.OpenComponent(folder);
            StateDictBinder.Load(m, store);
        }, device);
    }

    /// <summary><c>image [B, 3, H, W]</c> in [−1, 1] → the posterior over <c>[B, C, H/f, W/f]</c> (unscaled latent space).</summary>
    public LatentPosterior Encode(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        Tensor moments = encoder.forward(image);
        if (quant_conv is not null)
        {
            using Tensor raw = moments;
            moments = quant_conv.forward(raw);
        }

        using (moments)
        {
            Tensor[] halves = moments.chunk(2, 1);
            using Tensor logvar = halves[1];
            return new LatentPosterior(halves[0], logvar.clamp(-30.0, 20.0));
        }
    }

    /// <summary>Unscaled latents <c>[B, C, h, w]</c> → image <c>[B, 3, h·f, w·f]</c>, not clamped.</summary>
    public Tensor Decode(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        if (post_quant_conv is null)
        {
            return decoder.forward(latents);
        }

        using Tensor z = post_quant_conv.forward(latents);
        return decoder.forward(z);
    }

    /// <summary>Diffusion-space latents → what the decoder takes: <c>latents / scaling_factor + shift_factor</c>.</summary>
    public Tensor Unscale(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        using Tensor divided = latents.div(Config.ScalingFactor);
        return divided.add(Config.ShiftFactor);
    }

    /// <summary>Encoder latents → diffusion space: <c>(z − shift_factor) · scaling_factor</c>.</summary>
    public Tensor Scale(Tensor latents)
    {
        ArgumentNullException.ThrowIfNull(latents);
        using Tensor shifted = latents.sub(Config.ShiftFactor);
        return shifted.mul(Config.ScalingFactor);
    }
}

/// <summary>Mirrors diffusers <c>Encoder</c>: conv_in, down blocks, mid block, GroupNorm, SiLU, conv_out to 2·C.</summary>
internal sealed class VaeEncoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly ModuleList<DownEncoderBlock2D> down_blocks;
    private readonly UNetMidBlock2D mid_block;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    public VaeEncoder(AutoencoderKLConfig config)
        : base(nameof(VaeEncoder))
    {
        var channels = config.BlockOutChannels;
        conv_in = nn.Conv2d(config.InChannels, channels[0], 3, padding: 1, device: ModuleConstruction.Device);
        down_blocks = nn.ModuleList(Enumerable.Range(0, channels.Count).Select(i => new DownEncoderBlock2D(
            i == 0 ? channels[0] : channels[i - 1], channels[i], config.LayersPerBlock, config.NormNumGroups, downsample: i < channels.Count - 1)).ToArray());
        mid_block = new UNetMidBlock2D(channels[^1], config.NormNumGroups, config.MidBlockAddAttention);
        conv_norm_out = VaeNorm.Create(config.NormNumGroups, channels[^1]);
        conv_out = nn.Conv2d(channels[^1], 2 * config.LatentChannels, 3, padding: 1, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor image)
    {
        Tensor h = conv_in.forward(image);
        foreach (var module in down_blocks.Cast<nn.Module<Tensor, Tensor>>().Append(mid_block).Append(conv_norm_out))
        {
            using Tensor before = h;
            h = module.forward(before);
        }

        using (Tensor normed = h)
        using (Tensor activated = nn.functional.silu(normed))
        {
            return conv_out.forward(activated);
        }
    }
}

/// <summary>Mirrors diffusers <c>Decoder</c>: conv_in, mid block, up blocks (reversed channels), GroupNorm, SiLU, conv_out.</summary>
internal sealed class VaeDecoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv_in;
    private readonly UNetMidBlock2D mid_block;
    private readonly ModuleList<UpDecoderBlock2D> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly Conv2d conv_out;

    public VaeDecoder(AutoencoderKLConfig config)
        : base(nameof(VaeDecoder))
    {
        var reversed = config.BlockOutChannels.Reverse().ToArray();
        conv_in = nn.Conv2d(config.LatentChannels, reversed[0], 3, padding: 1, device: ModuleConstruction.Device);
        mid_block = new UNetMidBlock2D(reversed[0], config.NormNumGroups, config.MidBlockAddAttention);
        up_blocks = nn.ModuleList(Enumerable.Range(0, reversed.Length).Select(i => new UpDecoderBlock2D(
            i == 0 ? reversed[0] : reversed[i - 1], reversed[i], config.LayersPerBlock + 1, config.NormNumGroups, upsample: i < reversed.Length - 1)).ToArray());
        conv_norm_out = VaeNorm.Create(config.NormNumGroups, reversed[^1]);
        conv_out = nn.Conv2d(reversed[^1], config.OutChannels, 3, padding: 1, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor latents)
    {
        Tensor h = conv_in.forward(latents);
        foreach (var module in new nn.Module<Tensor, Tensor>[] { mid_block }.Concat(up_blocks).Append(conv_norm_out))
        {
            using Tensor before = h;
            h = module.forward(before);
        }

        using (Tensor normed = h)
        using (Tensor activated = nn.functional.silu(normed))
        {
            return conv_out.forward(activated);
        }
    }
}

using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Vae;

/// <summary>GroupNorm with diffusers' VAE epsilon (1e-6, not PyTorch's 1e-5).</summary>
internal static class VaeNorm
{
    public static GroupNorm Create(int groups, int channels)
    {
        var norm = nn.GroupNorm(groups, channels, eps: 1e-6, device: ModuleConstruction.Device);

        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised; PyTorch starts them at 1 and 0.
        using var noGrad = no_grad();
        norm.weight!.fill_(1);
        norm.bias!.zero_();
        return norm;
    }
}

/// <summary>
/// <c>x + conv2(silu(norm2(conv1(silu(norm1(x))))))</c>, with a 1×1 <c>conv_shortcut</c> when channels change.
/// Mirrors diffusers <c>ResnetBlock2D</c> (no time embedding, output scale 1).
/// </summary>
internal sealed class ResnetBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? conv_shortcut;

    public ResnetBlock2D(int inChannels, int outChannels, int groups)
        : base(nameof(ResnetBlock2D))
    {
        norm1 = VaeNorm.Create(groups, inChannels);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1, device: ModuleConstruction.Device);
        norm2 = VaeNorm.Create(groups, outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1, device: ModuleConstruction.Device);
        if (inChannels != outChannels)
        {
            conv_shortcut = nn.Conv2d(inChannels, outChannels, 1, device: ModuleConstruction.Device);
        }

        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        Tensor h;
        using (Tensor n1 = norm1.forward(x))
        using (Tensor a1 = nn.functional.silu(n1))
        {
            h = conv1.forward(a1);
        }

        using (Tensor before = h)
        using (Tensor n2 = norm2.forward(before))
        using (Tensor a2 = nn.functional.silu(n2))
        {
            h = conv2.forward(a2);
        }

        using (h)
        {
            if (conv_shortcut is null)
            {
                return x.add(h);
            }

            using Tensor shortcut = conv_shortcut.forward(x);
            return shortcut.add(h);
        }
    }
}

/// <summary>Zero-pad right and bottom by 1, then a 3×3 stride-2 conv (diffusers <c>Downsample2D</c>, VAE variant).</summary>
internal sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public Downsample2D(int channels)
        : base(nameof(Downsample2D))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 2, padding: 0L, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using Tensor padded = nn.functional.pad(x, [0, 1, 0, 1]);
        return conv.forward(padded);
    }
}

/// <summary>Nearest-neighbour ×2, then a 3×3 conv (diffusers <c>Upsample2D</c>).</summary>
internal sealed class Upsample2D : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    public Upsample2D(int channels)
        : base(nameof(Upsample2D))
    {
        conv = nn.Conv2d(channels, channels, 3, padding: 1, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using Tensor up = nn.functional.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return conv.forward(up);
    }
}

/// <summary>
/// Single-head spatial self-attention with a residual: GroupNorm, tokens <c>[B, H·W, C]</c>, Linear q/k/v,
/// softmax(q·kᵀ/√C)·v, <c>to_out.0</c>. Mirrors diffusers <c>Attention</c> as the VAE mid block builds it.
/// </summary>
internal sealed class VaeAttention : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm group_norm;
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly ModuleList<nn.Module> to_out;

    public VaeAttention(int channels, int groups)
        : base(nameof(VaeAttention))
    {
        group_norm = VaeNorm.Create(groups, channels);
        to_q = nn.Linear(channels, channels, device: ModuleConstruction.Device);
        to_k = nn.Linear(channels, channels, device: ModuleConstruction.Device);
        to_v = nn.Linear(channels, channels, device: ModuleConstruction.Device);
        to_out = nn.ModuleList<nn.Module>(nn.Linear(channels, channels, device: ModuleConstruction.Device), nn.Identity());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long batch = x.shape[0];
        long channels = x.shape[1];
        long height = x.shape[2];
        long width = x.shape[3];
        using Tensor normed = group_norm.forward(x);
        using Tensor tokens = normed.view(batch, channels, height * width).transpose(1, 2);       // [B, HW, C]
        using Tensor q = to_q.forward(tokens).unsqueeze(1);                                       // [B, 1, HW, C]
        using Tensor k = to_k.forward(tokens).unsqueeze(1);
        using Tensor v = to_v.forward(tokens).unsqueeze(1);
        using Tensor o = nn.functional.scaled_dot_product_attention(q, k, v);
        using Tensor projected = ((Linear)to_out[0]).forward(o.squeeze(1));                      // [B, HW, C]
        using Tensor image = projected.transpose(1, 2).reshape(batch, channels, height, width);
        return image.add(x);
    }
}

/// <summary>resnet → attention → resnet (diffusers <c>UNetMidBlock2D</c> without time embedding).</summary>
internal sealed class UNetMidBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<VaeAttention> attentions;

    public UNetMidBlock2D(int channels, int groups, bool addAttention)
        : base(nameof(UNetMidBlock2D))
    {
        resnets = nn.ModuleList(new ResnetBlock2D(channels, channels, groups), new ResnetBlock2D(channels, channels, groups));
        attentions = addAttention ? nn.ModuleList(new VaeAttention(channels, groups)) : nn.ModuleList<VaeAttention>();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        Tensor h = resnets[0].forward(x);
        if (attentions.Count > 0)
        {
            using Tensor before = h;
            h = attentions[0].forward(before);
        }

        using (h)
        {
            return resnets[1].forward(h);
        }
    }
}

/// <summary>Resnets, then an optional downsampler (diffusers <c>DownEncoderBlock2D</c>).</summary>
internal sealed class DownEncoderBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D> downsamplers;

    public DownEncoderBlock2D(int inChannels, int outChannels, int layers, int groups, bool downsample)
        : base(nameof(DownEncoderBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, layers).Select(i => new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, groups)).ToArray());
        downsamplers = downsample ? nn.ModuleList(new Downsample2D(outChannels)) : nn.ModuleList<Downsample2D>();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        Tensor h = x.alias();
        foreach (var module in resnets.Cast<nn.Module<Tensor, Tensor>>().Concat(downsamplers))
        {
            using Tensor before = h;
            h = module.forward(before);
        }

        return h;
    }
}

/// <summary>Resnets, then an optional upsampler (diffusers <c>UpDecoderBlock2D</c>).</summary>
internal sealed class UpDecoderBlock2D : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D> upsamplers;

    public UpDecoderBlock2D(int inChannels, int outChannels, int layers, int groups, bool upsample)
        : base(nameof(UpDecoderBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, layers).Select(i => new ResnetBlock2D(i == 0 ? inChannels : outChannels, outChannels, groups)).ToArray());
        upsamplers = upsample ? nn.ModuleList(new Upsample2D(outChannels)) : nn.ModuleList<Upsample2D>();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        Tensor h = x.alias();
        foreach (var module in resnets.Cast<nn.Module<Tensor, Tensor>>().Concat(upsamplers))
        {
            using Tensor before = h;
            h = module.forward(before);
        }

        return h;
    }
}

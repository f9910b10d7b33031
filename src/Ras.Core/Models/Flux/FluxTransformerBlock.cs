using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// A double-stream (MMDiT) block: adaLN-Zero-modulated joint attention and feed-forward, with separate weights for the
/// image and the text stream; both streams are updated (unlike SD3, no block is context-pre-only). Mirrors diffusers
/// <c>FluxTransformerBlock</c> (models/transformers/transformer_flux.py); <c>norm2</c>/<c>norm2_context</c> hold no
/// weights and are <see cref="Modulation.LayerNorm"/> here.
/// </summary>
internal sealed class FluxTransformerBlock : nn.Module
{
    private readonly AdaLayerNormZero norm1;
    private readonly AdaLayerNormZero norm1_context;
    private readonly FluxAttention attn;
    private readonly FeedForward ff;
    private readonly FeedForward ff_context;

    public FluxTransformerBlock(int index, FluxTransformerConfig config)
        : base(nameof(FluxTransformerBlock))
    {
        int dim = config.InnerDim;
        norm1 = new AdaLayerNormZero(dim);
        norm1_context = new AdaLayerNormZero(dim);
        attn = new FluxAttention(dim, config.NumAttentionHeads, config.AttentionHeadDim, joint: true, new AttentionSlot(index, 0));
        ff = new FeedForward(dim, config.MlpHiddenDim);
        ff_context = new FeedForward(dim, config.MlpHiddenDim);
        RegisterComponents();
    }

    /// <summary>
    /// <c>image [B, n, D]</c> (computed image tokens), <c>text [B, L, D]</c>, <c>temb [B, D]</c>, the rotations of
    /// <c>[text, image]</c> → the new image and text streams.
    /// </summary>
    public (Tensor Image, Tensor Text) Forward(Tensor image, Tensor text, Tensor temb, FluxRope rope, ITokenRouting? routing)
    {
        // 1. Modulation parameters for both streams (shift, scale, gate for attention and MLP).
        AdaLnZeroOutput img = norm1.Forward(image, temb);
        AdaLnZeroOutput txt = norm1_context.Forward(text, temb);

        // 2. Joint attention, gated residuals.
        var (attnImage, attnText) = attn.Joint(img.Modulated, txt.Modulated, rope, routing);
        using Tensor x = Modulation.GatedResidual(image, img.GateMsa, attnImage);
        using Tensor c = Modulation.GatedResidual(text, txt.GateMsa, attnText);
        attnImage.Dispose();
        attnText.Dispose();

        // 3. Feed-forward of each stream.
        return (FeedForwardResidual(ff, x, img), FeedForwardResidual(ff_context, c, txt));
    }

    /// <summary><c>x + gate_mlp · ff(LN(x)·(1 + scale_mlp) + shift_mlp)</c>.</summary>
    private static Tensor FeedForwardResidual(FeedForward feedForward, Tensor x, AdaLnZeroOutput modulation)
    {
        using Tensor normed = Modulation.LayerNorm(x);
        using Tensor modulated = Modulation.Modulate(normed, modulation.ShiftMlp, modulation.ScaleMlp);
        using Tensor update = feedForward.forward(modulated);
        return Modulation.GatedResidual(x, modulation.GateMlp, update);
    }
}

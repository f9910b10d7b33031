using Ras.Models.Common;
using static TorchSharp.torch;

namespace Ras.Models.SD3;

/// <summary>
/// One MMDiT block: adaLN-Zero-modulated joint attention and feed-forward for the image and text
/// streams; MMDiT-X blocks add an image-only attention (<c>attn2</c>); the last block is
/// "context pre-only" (text output unused, 2-chunk continuous norm for the text input).
/// Mirrors diffusers <c>JointTransformerBlock</c> (models/attention.py).
/// </summary>
internal sealed class JointTransformerBlock : nn.Module
{
    private readonly nn.Module norm1;            // AdaLayerNormZero, or SD35AdaLayerNormZeroX with attn2
    private readonly nn.Module norm1_context;    // AdaLayerNormZero, or AdaLayerNormContinuous when context-pre-only
    private readonly SD3Attention attn;
    private readonly SD3Attention? attn2;
    private readonly FeedForward ff;
    private readonly FeedForward? ff_context;

    public JointTransformerBlock(int index, SD3TransformerConfig config, bool contextPreOnly, bool dualAttention)
        : base(nameof(JointTransformerBlock))
    {
        int dim = config.InnerDim;
        norm1 = dualAttention ? new SD35AdaLayerNormZeroX(dim) : new AdaLayerNormZero(dim);
        norm1_context = contextPreOnly ? new AdaLayerNormContinuous(dim, dim) : new AdaLayerNormZero(dim);
        attn = new SD3Attention(dim, config.NumAttentionHeads, config.AttentionHeadDim, config.QkNorm,
            joint: true, contextPreOnly, new AttentionSlot(index, 0));
        if (dualAttention)
        {
            attn2 = new SD3Attention(dim, config.NumAttentionHeads, config.AttentionHeadDim, config.QkNorm,
                joint: false, contextPreOnly: false, new AttentionSlot(index, 1));
        }

        ff = new FeedForward(dim, 4 * dim);
        if (!contextPreOnly)
        {
            ff_context = new FeedForward(dim, 4 * dim);
        }

        RegisterComponents();
    }

    /// <summary>
    /// <c>image [B, n, D]</c>, <c>text [B, L, D]</c>, <c>temb [B, D]</c> → new image stream and, unless
    /// this is the context-pre-only block, new text stream.
    /// </summary>
    public (Tensor Image, Tensor? Text) Forward(Tensor image, Tensor text, Tensor temb, ITokenRouting? routing)
    {
        // 1. Modulation parameters for both streams.
        AdaLnZeroOutput img;
        Tensor? image2 = null;
        Tensor? gateMsa2 = null;
        if (norm1 is SD35AdaLayerNormZeroX dual)
        {
            (img, image2, gateMsa2) = dual.Forward(image, temb);
        }
        else
        {
            img = ((AdaLayerNormZero)norm1).Forward(image, temb);
        }

        AdaLnZeroOutput? txt = null;
        Tensor normedText;
        if (norm1_context is AdaLayerNormContinuous continuous)
        {
            normedText = continuous.Forward(text, temb);
        }
        else
        {
            txt = ((AdaLayerNormZero)norm1_context).Forward(text, temb);
            normedText = txt.Value.Modulated;
        }

        // 2. Joint attention (+ MMDiT-X image-only attention), gated residuals.
        var (attnImage, attnText) = attn.Forward(img.Modulated, normedText, routing);
        Tensor x = Modulation.GatedResidual(image, img.GateMsa, attnImage);
        attnImage.Dispose();
        if (attn2 is not null)
        {
            var (attn2Image, _) = attn2.Forward(image2!, null, routing);
            using Tensor before = x;
            x = Modulation.GatedResidual(before, gateMsa2!, attn2Image);
            attn2Image.Dispose();
        }

        // 3. Image feed-forward.
        using (Tensor normed = Modulation.LayerNorm(x))
        using (Tensor modulated = Modulation.Modulate(normed, img.ShiftMlp, img.ScaleMlp))
        using (Tensor update = ff.forward(modulated))
        using (Tensor before = x)
        {
            x = Modulation.GatedResidual(before, img.GateMlp, update);
        }

        if (ff_context is null)
        {
            return (x, null);
        }

        // 4. Text: gated attention residual and feed-forward.
        AdaLnZeroOutput t = txt!.Value;
        using Tensor c = Modulation.GatedResidual(text, t.GateMsa, attnText!);
        attnText!.Dispose();
        using Tensor normedC = Modulation.LayerNorm(c);
        using Tensor modulatedC = Modulation.Modulate(normedC, t.ShiftMlp, t.ScaleMlp);
        using Tensor updateC = ff_context.forward(modulatedC);
        return (x, Modulation.GatedResidual(c, t.GateMlp, updateC));
    }
}

using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// One Lumina-Next block: shift-free adaptive RMS norm, self-attention and gated caption cross-attention mixed and
/// projected once, sandwich-normed gated residuals, SwiGLU feed-forward. Mirrors diffusers <c>LuminaNextDiTBlock</c>
/// (models/transformers/lumina_nextdit2d.py).
/// </summary>
internal sealed class LuminaNextDiTBlock : nn.Module
{
    private readonly Parameter gate;
    private readonly LuminaAttention attn1;
    private readonly LuminaAttention attn2;
    private readonly LuminaFeedForward feed_forward;
    private readonly LuminaRMSNormZero norm1;
    private readonly RmsNorm ffn_norm1;
    private readonly RmsNorm norm2;
    private readonly RmsNorm ffn_norm2;
    private readonly RmsNorm norm1_context;
    private readonly AttentionSlot slot;

    public LuminaNextDiTBlock(int index, LuminaNextDiT2DModelConfig config)
        : base(nameof(LuminaNextDiTBlock))
    {
        int dim = config.HiddenSize;
        slot = new AttentionSlot(index, 0);
        gate = nn.Parameter(zeros(config.NumAttentionHeads, device: ModuleConstruction.Device));
        attn1 = new LuminaAttention(dim, dim, config.NumAttentionHeads, config.KvHeads, config.QkNorm, outputProjection: false);
        attn2 = new LuminaAttention(dim, config.CrossAttentionDim, config.NumAttentionHeads, config.KvHeads, config.QkNorm, outputProjection: true);
        feed_forward = new LuminaFeedForward(dim, config.FeedForwardDim);
        norm1 = new LuminaRMSNormZero(dim, config.ConditioningDim, config.NormEps);
        ffn_norm1 = new RmsNorm(dim, config.NormEps);
        norm2 = new RmsNorm(dim, config.NormEps);
        ffn_norm2 = new RmsNorm(dim, config.NormEps);
        norm1_context = new RmsNorm(config.CrossAttentionDim, config.NormEps);
        RegisterComponents();
    }

    /// <summary>
    /// <c>x [B, n, D]</c> computed image tokens, their <paramref name="rope"/> rows, <c>caption [B, L, Dc]</c>,
    /// <c>captionMask</c> bool <c>[B, 1, 1, L]</c>, <c>temb [B, Dt]</c> → <c>[B, n, D]</c>. <paramref name="tap"/> receives
    /// <c>norm1</c>, <c>self_attn</c> and <c>cross_attn</c> (fixture tests).
    /// </summary>
    public Tensor Forward(Tensor x, RotaryRows rope, Tensor caption, Tensor captionMask, Tensor temb, int? baseSequenceLength,
        ITokenRouting? routing, Action<string, Tensor>? tap = null)
    {
        // 1. Adaptive norm of the input.
        using LuminaModulation m = norm1.Forward(x, temb);
        tap?.Invoke("norm1", m.Normed);

        // 2. Self-attention (RAS seam inside) and caption cross-attention, [B, n, h, d] each.
        using Tensor selfAttention = attn1.SelfAttention(m.Normed, rope, baseSequenceLength, slot, routing);
        tap?.Invoke("self_attn", selfAttention);
        using Tensor normedCaption = norm1_context.forward(caption);
        using Tensor crossAttention = attn2.CrossAttention(m.Normed, rope, normedCaption, captionMask);
        tap?.Invoke("cross_attn", crossAttention);

        // 3. sa + tanh(gate)·ca per head, one shared output projection, sandwich-normed gated residual.
        Tensor attended;
        using (Tensor gateTanh = gate.tanh())
        using (Tensor headGate = gateTanh.view(1, 1, -1, 1))
        using (Tensor gated = crossAttention.mul(headGate))
        using (Tensor mixed = selfAttention.add(gated))
        using (Tensor flat = mixed.flatten(-2))                                            // [B, n, D]
        using (Tensor projected = attn2.ProjectOut(flat))
        using (Tensor normed = norm2.forward(projected))
        using (Tensor gateMsa = m.GateMsa.tanh())
        {
            attended = Modulation.GatedResidual(x, gateMsa, normed);
        }

        // 4. Feed-forward on the adaptively normed stream, sandwich-normed gated residual.
        using (attended)
        using (Tensor ffnInput = ffn_norm1.forward(attended))
        using (Tensor modulated = Modulation.Scale(ffnInput, m.ScaleMlp))
        using (Tensor update = feed_forward.forward(modulated))
        using (Tensor normed = ffn_norm2.forward(update))
        using (Tensor gateMlp = m.GateMlp.tanh())
        {
            return Modulation.GatedResidual(attended, gateMlp, normed);
        }
    }
}

using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// A single-stream block over the joint <c>[text, image]</c> sequence: one adaLN-Zero modulation, attention (no output
/// projection) and an MLP in parallel on the same normalised input, one output projection of both, gated residual.
/// Mirrors diffusers <c>FluxSingleTransformerBlock</c> (models/transformers/transformer_flux.py), mlp_ratio 4.
/// </summary>
internal sealed class FluxSingleTransformerBlock : nn.Module
{
    private readonly AdaLayerNormZeroSingle norm;
    private readonly Linear proj_mlp;
    private readonly Linear proj_out;
    private readonly FluxAttention attn;

    public FluxSingleTransformerBlock(AttentionSlot slot, FluxTransformerConfig config)
        : base(nameof(FluxSingleTransformerBlock))
    {
        int dim = config.InnerDim;
        norm = new AdaLayerNormZeroSingle(dim);
        proj_mlp = nn.Linear(dim, config.MlpHiddenDim, device: ModuleConstruction.Device);
        proj_out = nn.Linear(dim + config.MlpHiddenDim, dim, device: ModuleConstruction.Device);
        attn = new FluxAttention(dim, config.NumAttentionHeads, config.AttentionHeadDim, joint: false, slot);
        RegisterComponents();
    }

    /// <summary>
    /// <c>joint [B, L + n, D]</c> (L text rows, then the computed image tokens), <c>temb [B, D]</c>, the rotations of its
    /// rows → the new joint stream. Every row-wise layer runs on these live rows only.
    /// </summary>
    public Tensor Forward(Tensor joint, long textLength, Tensor temb, FluxRope rope, ITokenRouting? routing)
    {
        // 1. Modulation.
        var (modulated, gate) = norm.Forward(joint, temb);
        using (modulated)
        using (gate)
        {
            // 2. Attention and MLP branches on the same input; attention features first.
            Tensor hidden;
            using (Tensor attended = attn.Self(modulated, textLength, rope, routing))        // [B, L + n, D]
            using (Tensor projected = proj_mlp.forward(modulated))
            using (Tensor mlp = nn.functional.gelu(projected, GELU.Approximate.tanh))        // [B, L + n, 4D]
            {
                hidden = torch.cat([attended, mlp], 2);                                      // [B, L + n, 5D]
            }

            // 3. Output projection, gated residual.
            using (hidden)
            using (Tensor update = proj_out.forward(hidden))
            {
                return Modulation.GatedResidual(joint, gate, update);
            }
        }
    }
}

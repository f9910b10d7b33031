using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// The attention of a FLUX.1 block: per-head RMS qk-norm, RoPE on queries and keys, one joint sequence with the text
/// rows first. A double-stream block's attention (<c>joint</c>) projects the image and the text separately (<c>to_*</c>,
/// <c>add_*_proj</c>) and has both output projections (<c>to_out.0</c>, <c>to_add_out</c>); a single-stream block's
/// (<c>pre_only</c>) projects the joint stream with <c>to_*</c> and has no output projection. Mirrors diffusers
/// <c>Attention</c> with <c>FluxAttnProcessor2_0</c> (models/attention_processor.py).
/// </summary>
internal sealed class FluxAttention : nn.Module
{
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly RmsNorm norm_q;
    private readonly RmsNorm norm_k;
    private readonly Linear? add_q_proj;
    private readonly Linear? add_k_proj;
    private readonly Linear? add_v_proj;
    private readonly RmsNorm? norm_added_q;
    private readonly RmsNorm? norm_added_k;
    private readonly ModuleList<nn.Module>? to_out;
    private readonly Linear? to_add_out;
    private readonly int heads;
    private readonly int headDim;
    private readonly AttentionSlot slot;

    /// <param name="dim">Token width (heads × headDim).</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of each head.</param>
    /// <param name="joint">True for a double-stream block (separate text projections and output projections).</param>
    /// <param name="slot">Identifies this layer's K/V cache to a token router.</param>
    public FluxAttention(int dim, int heads, int headDim, bool joint, AttentionSlot slot)
        : base(nameof(FluxAttention))
    {
        this.heads = heads;
        this.headDim = headDim;
        this.slot = slot;
        to_q = nn.Linear(dim, dim, device: ModuleConstruction.Device);
        to_k = nn.Linear(dim, dim, device: ModuleConstruction.Device);
        to_v = nn.Linear(dim, dim, device: ModuleConstruction.Device);
        norm_q = new RmsNorm(headDim);
        norm_k = new RmsNorm(headDim);
        if (joint)
        {
            add_q_proj = nn.Linear(dim, dim, device: ModuleConstruction.Device);
            add_k_proj = nn.Linear(dim, dim, device: ModuleConstruction.Device);
            add_v_proj = nn.Linear(dim, dim, device: ModuleConstruction.Device);
            norm_added_q = new RmsNorm(headDim);
            norm_added_k = new RmsNorm(headDim);
            to_out = nn.ModuleList<nn.Module>(nn.Linear(dim, dim, device: ModuleConstruction.Device), nn.Identity());
            to_add_out = nn.Linear(dim, dim, device: ModuleConstruction.Device);
        }

        RegisterComponents();
    }

    /// <summary>
    /// Double-stream attention: <c>image [B, n, D]</c> (the computed image tokens), <c>text [B, L, D]</c>, the rotations
    /// of <c>[text, image]</c> → (image output <c>[B, n, D]</c>, text output <c>[B, L, D]</c>), both projected.
    /// </summary>
    public (Tensor Image, Tensor Text) Joint(Tensor image, Tensor text, FluxRope rope, ITokenRouting? routing)
    {
        if (add_q_proj is null)
        {
            throw new InvalidOperationException("a single-stream attention has no text projections");
        }

        long textLength = text.shape[1];

        // 1. Projections and per-head qk-norm; joint sequence text first, as diffusers: [B, L + n, H, Dh] / [B, L + n, D].
        Tensor q;
        Tensor k;
        Tensor v;
        using (Tensor textQ = Heads(add_q_proj, norm_added_q!, text))
        using (Tensor imageQ = Heads(to_q, norm_q, image))
        {
            q = torch.cat([textQ, imageQ], 1);
        }

        using (Tensor textK = Heads(add_k_proj!, norm_added_k!, text))
        using (Tensor imageK = Heads(to_k, norm_k, image))
        {
            k = torch.cat([textK, imageK], 1);
        }

        using (Tensor textV = add_v_proj!.forward(text))
        using (Tensor imageV = to_v.forward(image))
        {
            v = torch.cat([textV, imageV], 1);
        }

        // 2. Attention; split the rows back into the two streams and project each.
        using Tensor attended = Attend(q, k, v, textLength, rope, routing);                  // [B, L + n, D]
        using Tensor textPart = attended.narrow(1, 0, textLength);
        using Tensor imagePart = attended.narrow(1, textLength, attended.shape[1] - textLength);
        return (((Linear)to_out![0]).forward(imagePart), to_add_out!.forward(textPart));
    }

    /// <summary>
    /// Single-stream attention (no output projection): <c>joint [B, L + n, D]</c> (text rows first), the rotations of its
    /// rows → <c>[B, L + n, D]</c>.
    /// </summary>
    public Tensor Self(Tensor joint, long textLength, FluxRope rope, ITokenRouting? routing)
    {
        Tensor q = Heads(to_q, norm_q, joint);                                              // [B, L + n, H, Dh]
        Tensor k = Heads(to_k, norm_k, joint);
        Tensor v = to_v.forward(joint);                                                     // [B, L + n, D]
        return Attend(q, k, v, textLength, rope, routing);
    }

    /// <summary>
    /// Rotates <c>q, k [B, S, H, Dh]</c> (S = L text rows, then the computed image rows), routes the keys/values through
    /// the RAS seam and attends. Takes ownership of q, k and v. → <c>[B, S, D]</c>.
    /// </summary>
    private Tensor Attend(Tensor q, Tensor k, Tensor v, long textLength, FluxRope rope, ITokenRouting? routing)
    {
        long batch = q.shape[0];
        long rows = q.shape[1];
        Tensor queries;
        Tensor keys;
        Tensor values;
        using (q)
        using (k)
        using (v)
        {
            queries = rope.Apply(q);                                                        // [B, S, H, Dh]
            using Tensor rotatedK = rope.Apply(k);
            using Tensor flatK = rotatedK.view(batch, rows, heads * headDim);               // [B, S, D]
            using Tensor textK = flatK.narrow(1, 0, textLength);
            using Tensor imageK = flatK.narrow(1, textLength, rows - textLength);
            using Tensor textV = v.narrow(1, 0, textLength);
            using Tensor imageV = v.narrow(1, textLength, rows - textLength);
            if (routing is null)
            {
                // Keys/values in the RAS cache's order, image rows then text, so a dense step and a RAS refill step compute
                // bit for bit the same; diffusers puts the text first, which changes only float rounding (attention sums
                // over keys, and keys and values agree).
                keys = torch.cat([imageK, textK], 1);                                      // [B, n + L, D]
                values = torch.cat([imageV, textV], 1);
            }
            else
            {
                // RAS seam: fresh image rows (rotated with their own positions) refresh this layer's cache; keys/values
                // then cover all N image tokens followed by the text's: [B, N + L, D].
                (keys, values) = routing.MergeKeyValues(slot, imageK, imageV, textK, textV);
            }
        }

        // [B, S, D] → [B, H, S, Dh] → attention → [B, Sq, D].
        using (queries)
        using (keys)
        using (values)
        using (Tensor qh = queries.transpose(1, 2))
        using (Tensor kh = SplitHeads(keys, batch))
        using (Tensor vh = SplitHeads(values, batch))
        using (Tensor o = AttentionKernel.Attend(qh, kh, vh))
        using (Tensor oT = o.transpose(1, 2))
        {
            return oT.reshape(batch, rows, heads * headDim);
        }
    }

    /// <summary><c>projection(input)</c> split into heads and RMS-normalised per head: <c>[B, S, D] → [B, S, H, Dh]</c>.</summary>
    private Tensor Heads(Linear projection, RmsNorm norm, Tensor input)
    {
        using Tensor projected = projection.forward(input);
        using Tensor perHead = projected.view(input.shape[0], input.shape[1], heads, headDim);
        return norm.forward(perHead);
    }

    private Tensor SplitHeads(Tensor x, long batch) => x.view(batch, -1, heads, headDim).transpose(1, 2);
}

using Ras.Models.Common;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Models.SD3;

/// <summary>
/// Joint (image + text) or image-only multi-head attention of an MMDiT block. Mirrors diffusers
/// <c>Attention</c> with <c>JointAttnProcessor2_0</c> (models/attention_processor.py): the block's
/// <c>attn</c> has the text projections (<c>add_*_proj</c>, <c>to_add_out</c> unless context-pre-only);
/// MMDiT-X's <c>attn2</c> has none. Optional per-head RMS qk-norm.
/// </summary>
internal sealed class SD3Attention : nn.Module
{
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly ModuleList<nn.Module> to_out;
    private readonly RmsNorm? norm_q;
    private readonly RmsNorm? norm_k;
    private readonly Linear? add_q_proj;
    private readonly Linear? add_k_proj;
    private readonly Linear? add_v_proj;
    private readonly RmsNorm? norm_added_q;
    private readonly RmsNorm? norm_added_k;
    private readonly Linear? to_add_out;
    private readonly int heads;
    private readonly int headDim;
    private readonly AttentionSlot slot;

    /// <param name="dim">Token width (heads × headDim).</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of each head.</param>
    /// <param name="qkNorm">Per-head query/key normalisation.</param>
    /// <param name="joint">True for the joint image+text attention (<c>attn</c>), false for image-only <c>attn2</c>.</param>
    /// <param name="contextPreOnly">Joint attention of the last block: text output is not needed.</param>
    /// <param name="slot">Identifies this layer's K/V cache to a token router.</param>
    public SD3Attention(int dim, int heads, int headDim, QkNorm qkNorm, bool joint, bool contextPreOnly, AttentionSlot slot)
        : base(nameof(SD3Attention))
    {
        this.heads = heads;
        this.headDim = headDim;
        this.slot = slot;
        to_q = nn.Linear(dim, dim, device: ModuleConstruction.Device);
        to_k = nn.Linear(dim, dim, device: ModuleConstruction.Device);
        to_v = nn.Linear(dim, dim, device: ModuleConstruction.Device);
        to_out = nn.ModuleList<nn.Module>(nn.Linear(dim, dim, device: ModuleConstruction.Device), nn.Identity());
        if (qkNorm == QkNorm.RmsNorm)
        {
            norm_q = new RmsNorm(headDim);
            norm_k = new RmsNorm(headDim);
        }

        if (joint)
        {
            add_q_proj = nn.Linear(dim, dim, device: ModuleConstruction.Device);
            add_k_proj = nn.Linear(dim, dim, device: ModuleConstruction.Device);
            add_v_proj = nn.Linear(dim, dim, device: ModuleConstruction.Device);
            if (qkNorm == QkNorm.RmsNorm)
            {
                norm_added_q = new RmsNorm(headDim);
                norm_added_k = new RmsNorm(headDim);
            }

            if (!contextPreOnly)
            {
                to_add_out = nn.Linear(dim, dim, device: ModuleConstruction.Device);
            }
        }

        RegisterComponents();
    }

    /// <summary>
    /// <c>image [B, n, D]</c> (n = computed image tokens), <c>text [B, L, D]</c> or null for image-only
    /// attention. Returns the image output and, when the text output is used, the text output.
    /// </summary>
    public (Tensor Image, Tensor? Text) Forward(Tensor image, Tensor? text, ITokenRouting? routing)
    {
        long batch = image.shape[0];
        long imageTokens = image.shape[1];
        bool textOutput = text is not null && to_add_out is not null;

        // 1. Image projections (+ per-head qk-norm), [B, n, D].
        using Tensor q = Project(to_q, norm_q, image);
        using Tensor k = Project(to_k, norm_k, image);
        using Tensor v = to_v.forward(image);

        // 2. Joint sequence, image first, then text. Text queries only when the text output is used
        //    (the last, context-pre-only block discards it, so its text query rows are skipped).
        Tensor queries;
        using Tensor? textK = text is null ? null : Project(add_k_proj!, norm_added_k, text);
        using Tensor? textV = text is null ? null : add_v_proj!.forward(text);
        if (textOutput)
        {
            using Tensor textQ = Project(add_q_proj!, norm_added_q, text!);
            queries = torch.cat([q, textQ], 1);                 // [B, n + L, D]
        }
        else
        {
            queries = q.alias();
        }

        // 3. RAS seam: computed tokens refresh their cache rows; keys/values then cover all N image tokens.
        var (keys, values) = routing is not null ? routing.MergeKeyValues(slot, k, v, textK, textV)
            : textK is null ? (k.alias(), v.alias())
            : (torch.cat([k, textK], 1), torch.cat([v, textV!], 1));   // [B, N + L, D]

        // 4. Attention over heads: [B, S, D] → [B, H, S, Dh] → back to [B, Sq, D].
        Tensor attended;
        using (queries)
        using (keys)
        using (values)
        using (Tensor qh = SplitHeads(queries, batch))
        using (Tensor kh = SplitHeads(keys, batch))
        using (Tensor vh = SplitHeads(values, batch))
        using (Tensor o = AttentionKernel.Attend(qh, kh, vh))
        using (Tensor oT = o.transpose(1, 2))
        {
            attended = oT.reshape(batch, -1, heads * headDim);
        }

        // 5. Output projections.
        using (attended)
        using (Tensor imagePart = attended.narrow(1, 0, imageTokens))
        {
            Tensor imageOut = ((Linear)to_out[0]).forward(imagePart);
            if (!textOutput)
            {
                return (imageOut, null);
            }

            using Tensor textPart = attended.narrow(1, imageTokens, attended.shape[1] - imageTokens);
            return (imageOut, to_add_out!.forward(textPart));
        }
    }

    private Tensor Project(Linear projection, RmsNorm? norm, Tensor input)
    {
        Tensor projected = projection.forward(input);
        if (norm is null)
        {
            return projected;
        }

        using (projected)
        using (Tensor perHead = projected.view(input.shape[0], input.shape[1], heads, headDim))
        using (Tensor normed = norm.forward(perHead))
        {
            return normed.view(input.shape[0], input.shape[1], heads * headDim);
        }
    }

    private Tensor SplitHeads(Tensor x, long batch) => x.view(batch, -1, heads, headDim).transpose(1, 2);
}

using Ras.Models.Common;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// One of a Lumina block's attentions, with grouped-query heads, LayerNorm qk-norm across heads and 2-D RoPE on the
/// queries. <c>attn1</c> attends the image tokens to themselves (keys rotated too, proportional scale, no output
/// projection); <c>attn2</c> attends them to the caption (keys not rotated, caption mask, owns <c>to_out.0</c>, which
/// the block applies to the mixed output of both). Mirrors diffusers <c>Attention</c> with
/// <c>LuminaAttnProcessor2_0</c> (models/attention_processor.py).
/// </summary>
internal sealed class LuminaAttention : nn.Module
{
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly LayerNorm? norm_q;
    private readonly LayerNorm? norm_k;
    private readonly ModuleList<nn.Module>? to_out;
    private readonly int heads;
    private readonly int kvHeads;
    private readonly int headDim;

    /// <param name="dim">Query (image token) width D = heads × headDim.</param>
    /// <param name="keyValueInputDim">Width of the tokens keys/values are projected from (D for attn1, caption width for attn2).</param>
    /// <param name="heads">Query heads h.</param>
    /// <param name="kvHeads">Key/value heads g (h must be a multiple).</param>
    /// <param name="qkNorm">LayerNorm over all query features and all key features.</param>
    /// <param name="outputProjection">True for attn2, whose <c>to_out.0</c> projects the block's mixed attention output.</param>
    public LuminaAttention(int dim, int keyValueInputDim, int heads, int kvHeads, bool qkNorm, bool outputProjection)
        : base(nameof(LuminaAttention))
    {
        this.heads = heads;
        this.kvHeads = kvHeads;
        headDim = dim / heads;
        int kvDim = kvHeads * headDim;
        to_q = nn.Linear(dim, dim, hasBias: false, device: ModuleConstruction.Device);
        to_k = nn.Linear(keyValueInputDim, kvDim, hasBias: false, device: ModuleConstruction.Device);
        to_v = nn.Linear(keyValueInputDim, kvDim, hasBias: false, device: ModuleConstruction.Device);
        if (qkNorm)
        {
            norm_q = nn.LayerNorm(dim, eps: 1e-5, device: ModuleConstruction.Device);
            norm_k = nn.LayerNorm(kvDim, eps: 1e-5, device: ModuleConstruction.Device);
        }

        if (outputProjection)
        {
            to_out = nn.ModuleList<nn.Module>(nn.Linear(dim, dim, hasBias: false, device: ModuleConstruction.Device), nn.Identity());
        }

        RegisterComponents();
    }

    /// <summary>
    /// attn1: <c>x [B, n, D]</c> (the computed image tokens), their <paramref name="rope"/> rows → <c>[B, n, h, d]</c>.
    /// Keys and values go through the RAS seam after norm and RoPE, so computed tokens attend to all N image tokens.
    /// </summary>
    /// <param name="x">Normalised image tokens.</param>
    /// <param name="rope">Rotations of the tokens in <paramref name="x"/>.</param>
    /// <param name="baseSequenceLength">Proportional attention: scale by √(log N / log base); null for 1/√d.</param>
    /// <param name="slot">This layer's K/V cache slot.</param>
    /// <param name="routing">RAS routing, or null for a dense call.</param>
    public Tensor SelfAttention(Tensor x, RotaryRows rope, int? baseSequenceLength, AttentionSlot slot, ITokenRouting? routing)
    {
        long batch = x.shape[0];
        long tokens = x.shape[1];
        using Tensor q = Query(x, rope);                                                   // [B, n, h, d]
        using Tensor k = Project(to_k, norm_k, x);                                         // [B, n, g·d]
        using Tensor kHeads = k.view(batch, tokens, kvHeads, headDim);
        using Tensor kRotated = rope.Apply(kHeads);
        using Tensor kFlat = kRotated.view(batch, tokens, kvHeads * headDim);
        using Tensor v = to_v.forward(x);                                                  // [B, n, g·d]

        // RAS seam: fresh rows refresh this layer's cache; keys/values then cover all N image tokens, [B, N, g·d].
        var (keys, values) = routing is not null ? routing.MergeKeyValues(slot, kFlat, v, null, null) : (kFlat.alias(), v.alias());
        using (keys)
        using (values)
        {
            // The scale counts every image token (the cache length in a RAS step), as a dense step would.
            long imageTokens = keys.shape[1];
            double scale = 1.0 / Math.Sqrt(headDim);
            if (baseSequenceLength is int baseLength)
            {
                scale *= Math.Sqrt(Math.Log(imageTokens) / Math.Log(baseLength));
            }

            return Attend(q, keys, values, keyMask: null, scale);
        }
    }

    /// <summary>
    /// attn2: <c>x [B, n, D]</c> image queries (rotated by <paramref name="rope"/>), <c>caption [B, L, Dc]</c> keys and
    /// values (not rotated), <c>captionMask</c> bool <c>[B, 1, 1, L]</c> → <c>[B, n, h, d]</c>. Never cached.
    /// </summary>
    public Tensor CrossAttention(Tensor x, RotaryRows rope, Tensor caption, Tensor captionMask)
    {
        long batch = caption.shape[0];
        long length = caption.shape[1];
        using Tensor q = Query(x, rope);                                                   // [B, n, h, d]
        using Tensor k = Project(to_k, norm_k, caption);                                   // [B, L, g·d]
        using Tensor v = to_v.forward(caption);
        return Attend(q, k, v, captionMask, 1.0 / Math.Sqrt(headDim));
    }

    /// <summary>attn2's <c>to_out.0</c>: <c>[B, n, D] → [B, n, D]</c>.</summary>
    public Tensor ProjectOut(Tensor mixed) =>
        to_out is null ? throw new InvalidOperationException("attn1 has no output projection") : ((Linear)to_out[0]).forward(mixed);

    private Tensor Query(Tensor x, RotaryRows rope)
    {
        using Tensor q = Project(to_q, norm_q, x);                                          // [B, n, D]
        using Tensor qHeads = q.view(x.shape[0], x.shape[1], heads, headDim);
        return rope.Apply(qHeads);
    }

    private static Tensor Project(Linear projection, LayerNorm? norm, Tensor input)
    {
        Tensor projected = projection.forward(input);
        if (norm is null)
        {
            return projected;
        }

        using (projected)
        {
            return norm.forward(projected);
        }
    }

    /// <summary>
    /// <c>q [B, n, h, d]</c>, <c>keys/values [B, S, g·d]</c> → <c>[B, n, h, d]</c>. Each kv head serves h/g consecutive
    /// query heads (diffusers repeats them in place).
    /// </summary>
    private Tensor Attend(Tensor q, Tensor keys, Tensor values, Tensor? keyMask, double scale)
    {
        using Tensor kh = ExpandHeads(keys);                                                 // [B, h, S, d]
        using Tensor vh = ExpandHeads(values);
        using Tensor qh = q.transpose(1, 2);                                                 // [B, h, n, d]
        using Tensor o = AttentionKernel.Attend(qh, kh, vh, keyMask, scale);
        return o.transpose(1, 2);                                                            // [B, n, h, d]
    }

    private Tensor ExpandHeads(Tensor x)
    {
        long batch = x.shape[0];
        long tokens = x.shape[1];
        int repeats = heads / kvHeads;
        using Tensor grouped = x.view(batch, tokens, kvHeads, 1, headDim);
        using Tensor repeated = grouped.expand(batch, tokens, kvHeads, repeats, headDim);
        using Tensor flat = repeated.reshape(batch, tokens, heads, headDim);                // [B, S, h, d]
        return flat.transpose(1, 2);
    }
}

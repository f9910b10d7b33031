using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Gemma;

/// <summary>
/// Gemma self-attention: grouped-query (each of <c>num_key_value_heads</c> key/value heads serves
/// <c>heads / kv_heads</c> consecutive query heads), RoPE on queries and keys, scale <c>1/√head_dim</c>, an explicit
/// boolean mask. Mirrors transformers <c>GemmaAttention</c> (eager) with its keys <c>q_proj</c>, <c>k_proj</c>,
/// <c>v_proj</c>, <c>o_proj</c>.
/// </summary>
internal sealed class GemmaAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    private readonly int heads;
    private readonly int keyValueHeads;
    private readonly int headDim;

    public GemmaAttention(GemmaConfig config)
        : base(nameof(GemmaAttention))
    {
        heads = config.NumAttentionHeads;
        keyValueHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        q_proj = nn.Linear(config.HiddenSize, heads * headDim, hasBias: config.AttentionBias, device: ModuleConstruction.Device);
        k_proj = nn.Linear(config.HiddenSize, keyValueHeads * headDim, hasBias: config.AttentionBias, device: ModuleConstruction.Device);
        v_proj = nn.Linear(config.HiddenSize, keyValueHeads * headDim, hasBias: config.AttentionBias, device: ModuleConstruction.Device);
        o_proj = nn.Linear(heads * headDim, config.HiddenSize, hasBias: config.AttentionBias, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    /// <summary><c>h [B, L, H]</c>, RoPE tables <c>[L, d]</c>, <c>allowed [B, 1, L, L]</c> (true = query may attend to key) → <c>[B, L, H]</c>.</summary>
    public Tensor Forward(Tensor h, Tensor cos, Tensor sin, Tensor allowed)
    {
        long batch = h.shape[0], length = h.shape[1];
        Tensor Heads(Tensor t, int count) => t.view(batch, length, count, headDim).transpose(1, 2);     // [B, n, L, d]
        using Tensor qProjected = q_proj.forward(h);
        using Tensor kProjected = k_proj.forward(h);
        using Tensor vProjected = v_proj.forward(h);
        using Tensor qHeads = Heads(qProjected, heads);
        using Tensor kHeads = Heads(kProjected, keyValueHeads);
        using Tensor v = Heads(vProjected, keyValueHeads);
        using Tensor q = GemmaRotaryEmbedding.Apply(qHeads, cos, sin);
        using Tensor k = GemmaRotaryEmbedding.Apply(kHeads, cos, sin);

        // transformers' repeat_kv: kv head m is copied to query heads m·g … m·g + g − 1.
        using Tensor kAll = RepeatKeyValues(k, batch, length);                                           // [B, nh, L, d]
        using Tensor vAll = RepeatKeyValues(v, batch, length);
        using Tensor context = AttentionKernel.Attend(q, kAll, vAll, allowed);                           // [B, nh, L, d]
        using Tensor merged = context.transpose(1, 2).reshape(batch, length, heads * headDim);
        return o_proj.forward(merged);
    }

    private Tensor RepeatKeyValues(Tensor x, long batch, long length)
    {
        int groups = heads / keyValueHeads;
        if (groups == 1)
        {
            return x.alias();
        }

        using Tensor expanded = x.unsqueeze(2).expand(batch, keyValueHeads, groups, length, headDim);   // [B, kv, g, L, d]
        return expanded.reshape(batch, heads, length, headDim);
    }
}

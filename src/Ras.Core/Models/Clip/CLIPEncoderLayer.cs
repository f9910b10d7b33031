using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Clip;

/// <summary>
/// One pre-LN CLIP layer: <c>x + out_proj(causal_attn(LN1(x)))</c>, then <c>x + fc2(act(fc1(LN2(x))))</c>.
/// Mirrors transformers <c>CLIPEncoderLayer</c> with <c>CLIPAttention</c> and <c>CLIPMLP</c>.
/// </summary>
internal sealed class CLIPEncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly CLIPAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly CLIPMLP mlp;
    private readonly LayerNorm layer_norm2;

    public CLIPEncoderLayer(CLIPTextConfig config)
        : base(nameof(CLIPEncoderLayer))
    {
        self_attn = new CLIPAttention(config);
        layer_norm1 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: ModuleConstruction.Device);
        mlp = new CLIPMLP(config);
        layer_norm2 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using Tensor normed = layer_norm1.forward(input);
        using Tensor attended = self_attn.forward(normed);
        using Tensor x = input.add(attended);
        using Tensor normed2 = layer_norm2.forward(x);
        using Tensor update = mlp.forward(normed2);
        return x.add(update);
    }

    /// <summary>Causal multi-head self-attention, scale head_dim^-0.5, no attention mask (as SD3 calls it).</summary>
    private sealed class CLIPAttention : nn.Module<Tensor, Tensor>
    {
        private readonly Linear q_proj;
        private readonly Linear k_proj;
        private readonly Linear v_proj;
        private readonly Linear out_proj;
        private readonly int heads;

        public CLIPAttention(CLIPTextConfig config)
            : base(nameof(CLIPAttention))
        {
            heads = config.NumAttentionHeads;
            q_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            k_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            v_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            out_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            long batch = x.shape[0];
            long length = x.shape[1];
            Tensor Heads(Tensor t) => t.view(batch, length, heads, -1).transpose(1, 2);      // [B, H, S, Dh]
            using Tensor q = Heads(q_proj.forward(x));
            using Tensor k = Heads(k_proj.forward(x));
            using Tensor v = Heads(v_proj.forward(x));
            using Tensor o = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
            using Tensor merged = o.transpose(1, 2).reshape(batch, length, -1);
            return out_proj.forward(merged);
        }
    }

    /// <summary><c>fc2(act(fc1(x)))</c> with quick-GELU or exact GELU.</summary>
    private sealed class CLIPMLP : nn.Module<Tensor, Tensor>
    {
        private readonly Linear fc1;
        private readonly Linear fc2;
        private readonly ClipActivation activation;

        public CLIPMLP(CLIPTextConfig config)
            : base(nameof(CLIPMLP))
        {
            activation = config.HiddenAct;
            fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize, device: ModuleConstruction.Device);
            fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize, device: ModuleConstruction.Device);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using Tensor hidden = fc1.forward(x);
            using Tensor activated = activation == ClipActivation.Gelu
                ? nn.functional.gelu(hidden)
                : hidden.mul(hidden.mul(1.702).sigmoid());
            return fc2.forward(activated);
        }
    }
}

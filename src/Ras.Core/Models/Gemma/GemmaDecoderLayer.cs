using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Models.Gemma;

/// <summary>
/// One pre-norm decoder layer: <c>x + o_proj(attn(norm_in(x)))</c>, then <c>x + mlp(norm_post(x))</c>.
/// Mirrors transformers <c>GemmaDecoderLayer</c> with its keys <c>input_layernorm</c>, <c>self_attn</c>,
/// <c>post_attention_layernorm</c>, <c>mlp</c>.
/// </summary>
internal sealed class GemmaDecoderLayer : nn.Module
{
    private readonly GemmaRmsNorm input_layernorm;
    private readonly GemmaAttention self_attn;
    private readonly GemmaRmsNorm post_attention_layernorm;
    private readonly GemmaMlp mlp;

    public GemmaDecoderLayer(GemmaConfig config)
        : base(nameof(GemmaDecoderLayer))
    {
        input_layernorm = new GemmaRmsNorm(config.HiddenSize, config.RmsNormEps);
        self_attn = new GemmaAttention(config);
        post_attention_layernorm = new GemmaRmsNorm(config.HiddenSize, config.RmsNormEps);
        mlp = new GemmaMlp(config);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor allowed)
    {
        using Tensor normed = input_layernorm.forward(x);
        using Tensor attended = self_attn.Forward(normed, cos, sin, allowed);
        using Tensor afterAttention = x.add(attended);
        using Tensor normedPost = post_attention_layernorm.forward(afterAttention);
        using Tensor update = mlp.forward(normedPost);
        return afterAttention.add(update);
    }
}

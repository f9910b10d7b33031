using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Shapes;

/// <summary>
/// The default model's text encoder: token + position embeddings, a few pre-LN bidirectional transformer
/// layers, a final layer norm; per-token hidden states <c>[B, L, hidden]</c> for the MMDiT's text stream and
/// a pooled vector (mean over non-padding tokens, projected) <c>[B, projection_dim]</c>. Trained jointly
/// with the transformer. Keys follow transformers' CLIP text model naming where the parts correspond.
/// </summary>
public sealed class ShapesTextEncoder : nn.Module
{
    private readonly Embedding token_embedding;
    private readonly Embedding position_embedding;
    private readonly ModuleList<EncoderLayer> layers;
    private readonly LayerNorm final_layer_norm;
    private readonly Linear pooled_projection;

    /// <summary>Builds a randomly initialised encoder.</summary>
    public ShapesTextEncoder(ShapesTextEncoderConfig config)
        : base(nameof(ShapesTextEncoder))
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        token_embedding = nn.Embedding(config.VocabSize, config.HiddenSize, device: ModuleConstruction.Device);
        position_embedding = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, device: ModuleConstruction.Device);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new EncoderLayer(config)).ToArray());
        final_layer_norm = nn.LayerNorm(config.HiddenSize, device: ModuleConstruction.Device);
        pooled_projection = nn.Linear(config.HiddenSize, config.ProjectionDim, device: ModuleConstruction.Device);
        using (no_grad())
        {
            // Small embeddings, as CLIP initialises them; the default N(0, 1) swamps the first layers.
            nn.init.normal_(token_embedding.weight!, 0, 0.02);
            nn.init.normal_(position_embedding.weight!, 0, 0.01);
        }

        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public ShapesTextEncoderConfig Config { get; }

    /// <summary><c>ids [B, L]</c> int64 → (hidden states <c>[B, L, hidden]</c>, pooled <c>[B, projection_dim]</c>).</summary>
    public (Tensor Hidden, Tensor Pooled) Forward(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        long length = ids.shape[1];
        using Tensor positions = arange(length, ScalarType.Int64, ids.device);
        using Tensor tokens = token_embedding.forward(ids);
        using Tensor placed = position_embedding.forward(positions);
        Tensor x = tokens.add(placed);                                        // [B, L, D]
        foreach (EncoderLayer layer in layers)
        {
            using Tensor before = x;
            x = layer.forward(before);
        }

        Tensor hidden;
        using (x)
        {
            hidden = final_layer_norm.forward(x);
        }

        using Tensor valid = ids.ne(WordTokenizer.PadId).unsqueeze(-1).to_type(hidden.dtype);   // [B, L, 1]
        using Tensor summed = hidden.mul(valid).sum(1);
        using Tensor count = valid.sum(1).clamp_min(1);
        using Tensor mean = summed.div(count);
        return (hidden, pooled_projection.forward(mean));
    }

    /// <summary>Pre-LN self-attention + GELU MLP.</summary>
    private sealed class EncoderLayer : nn.Module<Tensor, Tensor>
    {
        private readonly LayerNorm layer_norm1;
        private readonly Linear q_proj;
        private readonly Linear k_proj;
        private readonly Linear v_proj;
        private readonly Linear out_proj;
        private readonly LayerNorm layer_norm2;
        private readonly Linear fc1;
        private readonly Linear fc2;
        private readonly int heads;

        public EncoderLayer(ShapesTextEncoderConfig config)
            : base(nameof(EncoderLayer))
        {
            heads = config.NumAttentionHeads;
            layer_norm1 = nn.LayerNorm(config.HiddenSize, device: ModuleConstruction.Device);
            q_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            k_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            v_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            out_proj = nn.Linear(config.HiddenSize, config.HiddenSize, device: ModuleConstruction.Device);
            layer_norm2 = nn.LayerNorm(config.HiddenSize, device: ModuleConstruction.Device);
            fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize, device: ModuleConstruction.Device);
            fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize, device: ModuleConstruction.Device);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            long batch = input.shape[0];
            long length = input.shape[1];
            Tensor Heads(Tensor t) => t.view(batch, length, heads, -1).transpose(1, 2);   // [B, H, L, Dh]
            Tensor attended;
            using (Tensor normed = layer_norm1.forward(input))
            using (Tensor q = Heads(q_proj.forward(normed)))
            using (Tensor k = Heads(k_proj.forward(normed)))
            using (Tensor v = Heads(v_proj.forward(normed)))
            using (Tensor o = AttentionKernel.Attend(q, k, v))
            {
                attended = o.transpose(1, 2).reshape(batch, length, -1);
            }

            using Tensor projected = out_proj.forward(attended);
            attended.Dispose();
            using Tensor x = input.add(projected);
            using Tensor normed2 = layer_norm2.forward(x);
            using Tensor hidden = nn.functional.gelu(fc1.forward(normed2));
            using Tensor mlp = fc2.forward(hidden);
            return x.add(mlp);
        }
    }
}

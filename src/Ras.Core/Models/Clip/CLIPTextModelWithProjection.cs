using Ras.Models.Common;
using Ras.IO.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Clip;

/// <summary>What a CLIP text encoder returns.</summary>
/// <param name="LastHiddenState"><c>[B, S, H]</c> after the final layer norm.</param>
/// <param name="HiddenStates">Embeddings, then every layer's output (no final norm): N + 1 tensors <c>[B, S, H]</c>.</param>
/// <param name="PooledOutput"><c>[B, H]</c>: the last hidden state at the pooled position.</param>
/// <param name="TextEmbeds"><c>[B, projection_dim]</c>: <c>text_projection(pooled)</c>.</param>
/// <param name="PooledIndex"><c>[B]</c> int64 pooled positions.</param>
public sealed record CLIPTextOutput(Tensor LastHiddenState, IReadOnlyList<Tensor> HiddenStates, Tensor PooledOutput, Tensor TextEmbeds, Tensor PooledIndex);

/// <summary>
/// CLIP text encoder with projection. Mirrors transformers <c>CLIPTextModelWithProjection</c>
/// (models/clip/modeling_clip.py): pre-LN causal transformer, pooled at the EOS token, projected without bias.
/// Keys as transformers saves them (<c>text_model.encoder.layers.0.self_attn.q_proj.weight</c>, <c>text_projection.weight</c>).
/// </summary>
public sealed class CLIPTextModelWithProjection : nn.Module
{
    private readonly CLIPTextTransformer text_model;
    private readonly Linear text_projection;

    /// <summary>Builds a randomly initialised encoder.</summary>
    public CLIPTextModelWithProjection(CLIPTextConfig config)
        : base(nameof(CLIPTextModelWithProjection))
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        text_model = new CLIPTextTransformer(config);
        text_projection = nn.Linear(config.HiddenSize, config.ProjectionDim, hasBias: false, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public CLIPTextConfig Config { get; }

    /// <summary>Loads a transformers folder (<c>config.json</c> + <c>model.safetensors</c>, or sharded) in float32.</summary>
    public static CLIPTextModelWithProjection FromPretrained(string folder, Device? device = null)
    {
        var config = CLIPTextConfig.Load(Path.Combine(folder, "config.json"));
        var model = UninitializedModules.Construct(() => new CLIPTextModelWithProjection(config));   // every weight is bound below
        return ModelLoader.Bind(model, m =>
        {
            using var store = TensorStore.OpenComponent(folder, "model");
            StateDictBinder.Load(m, store, ignore: IsPositionIds);
        }, device);
    }

    /// <summary>Older checkpoints carry the non-persistent <c>position_ids</c> buffer: not a weight.</summary>
    public static bool IsPositionIds(string key) => key.EndsWith("embeddings.position_ids", StringComparison.Ordinal);

    /// <summary><c>input_ids [B, S]</c> int64 → every output SD3 needs. No attention mask (SD3 passes none); the causal mask is always on.</summary>
    public CLIPTextOutput Forward(Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        var (last, hidden) = text_model.Forward(inputIds);

        // transformers: eos_token_id == 2 is the legacy config value → the position of the largest id
        // (EOS is the largest id); otherwise the first position holding eos_token_id.
        Tensor index;
        if (Config.EosTokenId == 2)
        {
            index = inputIds.argmax(-1);
        }
        else
        {
            using Tensor isEos = inputIds.eq(Config.EosTokenId).to_type(ScalarType.Int32);
            index = isEos.argmax(-1);
        }

        using Tensor rows = arange(inputIds.shape[0], ScalarType.Int64, inputIds.device);
        Tensor pooled = last.index([rows, index]);                           // [B, H]
        return new CLIPTextOutput(last, hidden, pooled, text_projection.forward(pooled), index);
    }

    /// <summary>Mirrors transformers <c>CLIPTextTransformer</c>: embeddings, encoder, final layer norm.</summary>
    private sealed class CLIPTextTransformer : nn.Module
    {
        private readonly CLIPTextEmbeddings embeddings;
        private readonly CLIPEncoder encoder;
        private readonly LayerNorm final_layer_norm;

        public CLIPTextTransformer(CLIPTextConfig config)
            : base(nameof(CLIPTextTransformer))
        {
            embeddings = new CLIPTextEmbeddings(config);
            encoder = new CLIPEncoder(config);
            final_layer_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: ModuleConstruction.Device);
            RegisterComponents();
        }

        public (Tensor Last, IReadOnlyList<Tensor> Hidden) Forward(Tensor ids)
        {
            Tensor x = embeddings.forward(ids);                                  // [B, S, H]
            var hidden = new List<Tensor> { x };
            hidden.AddRange(encoder.Forward(x));
            return (final_layer_norm.forward(hidden[^1]), hidden);
        }
    }

    /// <summary>Mirrors transformers <c>CLIPTextEmbeddings</c>: token + learned absolute position embeddings.</summary>
    private sealed class CLIPTextEmbeddings : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding token_embedding;
        private readonly Embedding position_embedding;

        public CLIPTextEmbeddings(CLIPTextConfig config)
            : base(nameof(CLIPTextEmbeddings))
        {
            token_embedding = nn.Embedding(config.VocabSize, config.HiddenSize, device: ModuleConstruction.Device);
            position_embedding = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, device: ModuleConstruction.Device);
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids)
        {
            using Tensor positions = arange(ids.shape[1], ScalarType.Int64, ids.device);
            using Tensor tokens = token_embedding.forward(ids);
            using Tensor placed = position_embedding.forward(positions);
            return tokens.add(placed);
        }
    }

    /// <summary>Mirrors transformers <c>CLIPEncoder</c>: the stack of layers, returning every layer's output.</summary>
    private sealed class CLIPEncoder : nn.Module
    {
        private readonly ModuleList<CLIPEncoderLayer> layers;

        public CLIPEncoder(CLIPTextConfig config)
            : base(nameof(CLIPEncoder))
        {
            layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new CLIPEncoderLayer(config)).ToArray());
            RegisterComponents();
        }

        public IEnumerable<Tensor> Forward(Tensor x)
        {
            foreach (CLIPEncoderLayer layer in layers)
            {
                x = layer.forward(x);
                yield return x;
            }
        }
    }
}

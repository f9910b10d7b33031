using Ras.IO.Checkpoints;
using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Gemma;

/// <summary>What the Gemma decoder returns.</summary>
/// <param name="LastHiddenState"><c>[B, L, H]</c>: the final RMS norm of the last layer's output.</param>
/// <param name="HiddenStates">
/// N + 1 tensors <c>[B, L, H]</c> (transformers' convention): the scaled embeddings, the outputs of layers 1..N−1, then
/// <see cref="LastHiddenState"/> (the last layer's raw output is in none of them).
/// </param>
public sealed record GemmaOutput(Tensor LastHiddenState, IReadOnlyList<Tensor> HiddenStates)
{
    /// <summary><c>hidden_states[-2]</c>: the output of layer N−1, un-normed; Lumina's caption features.</summary>
    public Tensor PenultimateHiddenState => HiddenStates[^2];
}

/// <summary>
/// The Gemma decoder used as a text encoder, as Lumina-Next uses it. Mirrors transformers <c>GemmaModel</c>
/// (models/gemma/modeling_gemma.py): embeddings scaled by √hidden, pre-norm layers with <c>(1 + w)</c> RMS norms,
/// grouped-query attention with RoPE under a causal mask combined with the padding mask, a gated tanh-GELU MLP, a final
/// norm. Keys as <c>GemmaModel.save_pretrained</c> writes them (<c>embed_tokens.weight</c>,
/// <c>layers.{i}.self_attn.q_proj.weight</c>, …, <c>norm.weight</c>); a <c>GemmaForCausalLM</c> checkpoint
/// (<c>model.</c> prefix, tied <c>lm_head.weight</c>) binds too. Computes in float32.
/// </summary>
/// <remarks>
/// Padding: positions are <c>0..L−1</c> for every row whatever the mask (as transformers). A padded query row that
/// would have no allowed key (left padding) attends to itself instead, so pad rows stay finite (transformers gives
/// them a uniform average in float32 and NaN in float64); rows where the mask is 1 are unaffected. With half-precision
/// storage the embedding table stays in the stored dtype and only the looked-up rows are upcast (exact): in float32 it
/// alone would take 2 GB for Gemma-2B.
/// </remarks>
public sealed class GemmaModel : StreamedBlocksModule
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<GemmaDecoderLayer> layers;
    private readonly GemmaRmsNorm norm;

    /// <summary>Builds a model with transformers-shaped, untrained weights (norm offsets 0).</summary>
    public GemmaModel(GemmaConfig config)
        : base(nameof(GemmaModel))
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize, device: ModuleConstruction.Device);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new GemmaDecoderLayer(config)).ToArray());
        norm = new GemmaRmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public GemmaConfig Config { get; }

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> Blocks => [.. layers];

    /// <summary>The final norm. The embedding table is deliberately not here: it stays in storage precision (see remarks).</summary>
    public override IReadOnlyList<nn.Module> ResidentModules => [norm];

    /// <inheritdoc />

    /// <summary>Loads a transformers folder (<c>config.json</c> + <c>model.safetensors</c>, or sharded); held as <paramref name="storage"/> says.</summary>
    /// <exception cref="Errors.ConfigException">The config is missing or invalid (the message names file and field).</exception>
    /// <exception cref="Errors.CheckpointException">The weights do not fit the config (every bad key listed).</exception>
    public static GemmaModel FromPretrained(string folder, Device? device = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var config = GemmaConfig.Load(Path.Combine(folder, "config.json"));
        using var store = TensorStore.OpenComponent(folder, "model");
        return ModelLoader.Load(() => new GemmaModel(config), store, storage, device, Bind);
    }

    /// <summary>Binds <c>GemmaModel</c> keys, or <c>GemmaForCausalLM</c>'s (<c>model.</c>-prefixed; its tied <c>lm_head.weight</c> is not needed).</summary>
    public static void Bind(GemmaModel model, ITensorSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        StateDictBinder.Load(model, source,
            ignore: key => key == "lm_head.weight",
            alias: key => "model." + key);
    }

    /// <summary>
    /// <c>input_ids [B, L]</c> int64 and optionally <c>attention_mask [B, L]</c> (non-zero = real token) → every hidden state.
    /// </summary>
    /// <exception cref="ArgumentException">The ids are not a 2-D integer tensor of vocabulary ids, or the mask's shape differs.</exception>
    public GemmaOutput Forward(Tensor inputIds, Tensor? attentionMask = null)
    {
        var hidden = Run(inputIds, attentionMask, Config.NumHiddenLayers);
        Tensor last = norm.forward(hidden[^1]);
        hidden[^1].Dispose();   // the last layer's raw output is not reported (transformers' convention)
        hidden[^1] = last;
        return new GemmaOutput(last, hidden);
    }

    /// <summary>
    /// Only what Lumina uses: <c>hidden_states[-2]</c>, the output of layer N−1 <c>[B, L, H]</c>. The last layer and the
    /// final norm are skipped (their results would be discarded).
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Forward"/>.</exception>
    public Tensor PenultimateHiddenState(Tensor inputIds, Tensor? attentionMask = null)
    {
        var hidden = Run(inputIds, attentionMask, Config.NumHiddenLayers - 1);
        foreach (Tensor earlier in hidden.Take(hidden.Count - 1))
        {
            earlier.Dispose();
        }

        return hidden[^1];
    }

    /// <summary>The scaled embeddings and the outputs of the first <paramref name="layerCount"/> layers.</summary>
    private List<Tensor> Run(Tensor inputIds, Tensor? attentionMask, int layerCount)
    {
        CheckInputs(inputIds, attentionMask);
        long length = inputIds.shape[1];

        // Stage 1: embeddings × √H (transformers multiplies by the normaliser in the compute dtype).
        Tensor x;
        using (Tensor looked = embed_tokens.forward(inputIds))
        using (Tensor upcast = looked.to_type(ScalarType.Float32))
        {
            x = upcast.mul((float)Math.Sqrt(Config.HiddenSize));                                     // [B, L, H]
        }

        // Stage 2: what every layer shares: RoPE tables and the mask.
        var (cos, sin) = GemmaRotaryEmbedding.Tables(Config.HeadDim, Config.RopeTheta, length, x.device);
        using Tensor cosTable = cos, sinTable = sin;
        using Tensor allowed = AllowedKeys(attentionMask, length, x.device);                         // [B|1, 1, L, L]

        // Stage 3: the layers, each in its own dispose scope so its intermediates go as soon as it is done.
        var hidden = new List<Tensor> { x };
        foreach (GemmaDecoderLayer layer in layers.Take(layerCount))
        {
            using var layerScope = NewDisposeScope();
            using (BlockWeights?.Use(layer))
            {
                x = layer.Forward(x, cosTable, sinTable, allowed).MoveToOuterDisposeScope();
            }

            hidden.Add(x);
        }

        return hidden;
    }

    /// <summary>
    /// Key j is allowed for query i when j ≤ i and j is a real token; the diagonal is always allowed so that a pad row
    /// with no real key before it (left padding) stays finite. Real rows always allow their own key, so they are exact.
    /// </summary>
    private static Tensor AllowedKeys(Tensor? attentionMask, long length, Device device)
    {
        using Tensor causal = ones(length, length, ScalarType.Bool, device).tril();                    // [L, L]
        if (attentionMask is null)
        {
            return causal.view(1, 1, length, length);
        }

        using Tensor diagonal = eye(length, length, ScalarType.Bool, device);
        using Tensor real = attentionMask.ne(0).to(device).view(attentionMask.shape[0], 1, 1, length); // [B, 1, 1, L]
        using Tensor causalReal = causal.logical_and(real);                                              // [B, 1, L, L]
        return causalReal.logical_or(diagonal);
    }

    private void CheckInputs(Tensor inputIds, Tensor? attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2 || inputIds.dtype is not (ScalarType.Int64 or ScalarType.Int32) || inputIds.shape[0] == 0 || inputIds.shape[1] == 0)
        {
            throw new ArgumentException($"input_ids must be a non-empty [B, L] int64 or int32 tensor, got {inputIds.dtype} [{string.Join(", ", inputIds.shape)}]", nameof(inputIds));
        }

        using (Tensor min = inputIds.min())
        using (Tensor max = inputIds.max())
        {
            long lowest = Value(min), highest = Value(max);
            if (lowest < 0 || highest >= Config.VocabSize)
            {
                throw new ArgumentException($"input_ids must lie in [0, {Config.VocabSize}) (vocab_size), found {(lowest < 0 ? lowest : highest)}", nameof(inputIds));
            }
        }

        if (attentionMask is not null && !attentionMask.shape.SequenceEqual(inputIds.shape))
        {
            throw new ArgumentException($"attention_mask must have the shape of input_ids [{string.Join(", ", inputIds.shape)}], got [{string.Join(", ", attentionMask.shape)}]", nameof(attentionMask));
        }

        static long Value(Tensor scalar) => scalar.dtype == ScalarType.Int64 ? scalar.item<long>() : scalar.item<int>();
    }
}

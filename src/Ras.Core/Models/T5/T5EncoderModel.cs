using Ras.IO.Checkpoints;
using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.T5;

/// <summary>What the T5 encoder returns.</summary>
/// <param name="LastHiddenState"><c>[B, S, d_model]</c> after the final RMS norm.</param>
/// <param name="HiddenStates">Embeddings, outputs of blocks 1..N−1, then the last hidden state (transformers' convention).</param>
/// <param name="PositionBias"><c>[1, heads, S, S]</c> relative position bias of block 0 (shared by every block), before any mask.</param>
public sealed record T5EncoderOutput(Tensor LastHiddenState, IReadOnlyList<Tensor> HiddenStates, Tensor PositionBias);

/// <summary>
/// T5 v1.1 encoder (gated-GELU, RMS layer norm, relative position buckets, no biases). Mirrors transformers
/// <c>T5EncoderModel</c> (models/t5/modeling_t5.py) with its keys: <c>shared.weight</c> (or
/// <c>encoder.embed_tokens.weight</c>), <c>encoder.block.{i}.layer.0.SelfAttention.{q,k,v,o}.weight</c>,
/// <c>encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight</c>, …, <c>encoder.final_layer_norm.weight</c>.
/// </summary>
public sealed class T5EncoderModel : StreamedBlocksModule
{
    private readonly Embedding shared;
    private readonly T5Stack encoder;

    /// <summary>Builds a randomly initialised encoder.</summary>
    public T5EncoderModel(T5Config config)
        : base(nameof(T5EncoderModel))
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        shared = nn.Embedding(config.VocabSize, config.DModel, device: ModuleConstruction.Device);
        encoder = new T5Stack(config);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public T5Config Config { get; }

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> Blocks => encoder.Blocks;

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> ResidentModules => [shared, encoder.FinalLayerNorm];

    /// <inheritdoc />
    public override IBlockWeights? BlockWeights
    {
        get => encoder.BlockWeights;
        set => encoder.BlockWeights = value;
    }


    /// <summary>
    /// Loads a transformers folder (<c>config.json</c> + <c>model.safetensors</c>, or sharded); computed in float32, held as
    /// <paramref name="storage"/> says. An encoder runs about once per load, so blocks kept in their stored form are read
    /// from the file at each use (<see cref="BlockReads.Once"/>) rather than copied into memory.
    /// </summary>
    public static T5EncoderModel FromPretrained(string folder, Device? device = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        var config = T5Config.Load(Path.Combine(folder, "config.json"));
        using var store = TensorStore.OpenComponent(folder, "model");
        return ModelLoader.Load(() => new T5EncoderModel(config), store, storage, device, Bind, BlockReads.Once);
    }

    /// <summary>
    /// Binds transformers' keys. The token embedding is tied: transformers writes it as <c>shared.weight</c>; some
    /// exports only as <c>encoder.embed_tokens.weight</c>.
    /// </summary>
    public static void Bind(T5EncoderModel model, ITensorSource source) =>
        StateDictBinder.Load(model, source,
            ignore: key => key == "encoder.embed_tokens.weight" && source.Contains("shared.weight"),
            alias: key => key == "shared.weight" ? "encoder.embed_tokens.weight" : null);

    /// <summary>
    /// <c>input_ids [B, S]</c> int64 (and optionally <c>attention_mask [B, S]</c>, 1 = keep) → outputs. SD3 passes no
    /// mask, so its padding takes part in attention.
    /// </summary>
    public T5EncoderOutput Forward(Tensor inputIds, Tensor? attentionMask = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        Tensor x = shared.forward(inputIds);
        return encoder.Forward(x, attentionMask);
    }

    /// <summary>Mirrors transformers <c>T5Stack</c> (encoder): blocks sharing block 0's position bias, final RMS norm.</summary>
    private sealed class T5Stack : nn.Module
    {
        private readonly ModuleList<T5Block> block;
        private readonly T5LayerNorm final_layer_norm;

        public T5Stack(T5Config config)
            : base(nameof(T5Stack))
        {
            block = nn.ModuleList(Enumerable.Range(0, config.NumLayers).Select(i => new T5Block(config, hasRelativeBias: i == 0)).ToArray());
            final_layer_norm = new T5LayerNorm(config.DModel, config.LayerNormEpsilon);
            RegisterComponents();
        }

        public IReadOnlyList<nn.Module> Blocks => [.. block];

        public nn.Module FinalLayerNorm => final_layer_norm;

        public IBlockWeights? BlockWeights { get; set; }

        public T5EncoderOutput Forward(Tensor x, Tensor? attentionMask)
        {
            long length = x.shape[1];
            Tensor bias;
            using (BlockWeights?.Use(block[0]))
            {
                bias = block[0].PositionBias(length, x.device);                      // [1, H, S, S]
            }

            Tensor scores = bias;
            if (attentionMask is not null)
            {
                // (1 − mask)·min on masked keys, broadcast over heads and queries.
                using Tensor keep = attentionMask.to_type(ScalarType.Float32).view(attentionMask.shape[0], 1, 1, length);
                using Tensor masked = keep.neg().add(1).mul(float.MinValue);
                scores = bias.add(masked);
            }

            var hidden = new List<Tensor> { x };
            foreach (T5Block b in block)
            {
                // One scope per block frees its intermediates (attention scores, FF activations) as soon as the block
                // is done; disposing handles is autograd-safe (the graph holds its own references).
                using var blockScope = NewDisposeScope();
                using (BlockWeights?.Use(b))
                {
                    x = b.Forward(x, scores).MoveToOuterDisposeScope();
                }

                hidden.Add(x);
            }

            Tensor last = final_layer_norm.forward(x);
            hidden[^1] = last;   // transformers reports the normed output in place of block N's raw output
            return new T5EncoderOutput(last, hidden, bias);
        }
    }
}

using Ras.IO.Checkpoints;
using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Lumina;

/// <summary>
/// The Lumina-Next diffusion transformer (Next-DiT): linear patch embedding, 2-D RoPE, grouped-query self-attention
/// with proportional scaling, gated caption cross-attention, sandwich norms, learned-sigma output. Mirrors diffusers
/// <c>LuminaNextDiT2DModel</c> (models/transformers/lumina_nextdit2d.py): module and parameter names equal diffusers'
/// so <c>diffusion_pytorch_model.safetensors</c> binds by key. The forward is autograd-safe; inference mode and
/// dispose scopes belong to the caller.
/// </summary>
public sealed class LuminaNextDiT2DModel : StreamedBlocksModule
{
    private readonly LuminaPatchEmbed patch_embedder;
    private readonly Parameter pad_token;   // stored by diffusers checkpoints, never used by the forward
    private readonly LuminaCombinedTimestepCaptionEmbedding time_caption_embed;
    private readonly ModuleList<LuminaNextDiTBlock> layers;
    private readonly LuminaLayerNormContinuous norm_out;

    /// <summary>Builds a model with TorchSharp's default initialisation (load weights with <see cref="FromPretrained"/>).</summary>
    public LuminaNextDiT2DModel(LuminaNextDiT2DModelConfig config)
        : base(nameof(LuminaNextDiT2DModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int dim = config.HiddenSize;
        patch_embedder = new LuminaPatchEmbed(config.PatchSize, config.InChannels, dim);
        pad_token = nn.Parameter(zeros(dim, device: ModuleConstruction.Device));
        time_caption_embed = new LuminaCombinedTimestepCaptionEmbedding(config.ConditioningDim, config.CrossAttentionDim);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumLayers).Select(i => new LuminaNextDiTBlock(i, config)).ToArray());
        norm_out = new LuminaLayerNormContinuous(dim, config.ConditioningDim, (long)config.PatchSize * config.PatchSize * config.OutChannels);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public LuminaNextDiT2DModelConfig Config { get; }

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> Blocks => [.. layers];

    /// <inheritdoc />
    /// <remarks><c>pad_token</c> is a bare parameter outside these modules; the forward never reads it.</remarks>
    public override IReadOnlyList<nn.Module> ResidentModules => [patch_embedder, time_caption_embed, norm_out];

    /// <inheritdoc />

    /// <summary>
    /// Loads a diffusers <c>transformer/</c> folder (<c>config.json</c> plus <c>diffusion_pytorch_model.safetensors</c>
    /// or its sharded index) on <paramref name="device"/>, computed in float32 and held as <paramref name="storage"/> says.
    /// </summary>
    /// <exception cref="Errors.RasInputException">Bad config, malformed weights, or keys that do not fit.</exception>
    public static LuminaNextDiT2DModel FromPretrained(string folder, Device? device = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        var config = LuminaNextDiT2DModelConfig.Load(Path.Combine(folder, "config.json"));
        using var store = TensorStore.OpenComponent(folder);
        return ModelLoader.Load(() => new LuminaNextDiT2DModel(config), store, storage, device, (model, source) => StateDictBinder.Load(model, source));
    }

    /// <summary>
    /// Predicts the data-direction velocity (first <c>in_channels</c> output channels; with <c>learn_sigma</c> the rest
    /// is the variance). <c>hiddenStates [B, C, H, W]</c> latents, <c>timestep [B]</c> Lumina time (0 = noise, 1 = data),
    /// <c>encoderHiddenStates [B, L, cross_attention_dim]</c> caption features, <c>encoderMask [B, L]</c> (1 = valid)
    /// → <c>[B, out_channels, H, W]</c>. With a <paramref name="routing"/>, only the image tokens it selects are computed
    /// and the rest of the output is zero.
    /// </summary>
    /// <param name="hiddenStates">Latents.</param>
    /// <param name="timestep">Lumina time per sample.</param>
    /// <param name="encoderHiddenStates">Caption features.</param>
    /// <param name="encoderMask">Caption mask (any integer or boolean dtype).</param>
    /// <param name="ropeScaling">RoPE extrapolation factors (the pipeline chooses them per step).</param>
    /// <param name="baseSequenceLength">Proportional attention: self-attention scaled by √(log N / log base); null = off.</param>
    /// <param name="routing">RAS routing, or null for a dense call.</param>
    public Tensor Forward(Tensor hiddenStates, Tensor timestep, Tensor encoderHiddenStates, Tensor encoderMask,
        LuminaRopeScaling ropeScaling, int? baseSequenceLength = null, ITokenRouting? routing = null) =>
        Forward(hiddenStates, timestep, encoderHiddenStates, encoderMask, ropeScaling, baseSequenceLength, routing, tap: null);

    /// <summary>As the public forward; <paramref name="tap"/> receives named intermediates (fixture tests).</summary>
    internal Tensor Forward(Tensor hiddenStates, Tensor timestep, Tensor encoderHiddenStates, Tensor encoderMask,
        LuminaRopeScaling ropeScaling, int? baseSequenceLength, ITokenRouting? routing, Action<string, Tensor>? tap)
    {
        long batch = hiddenStates.shape[0];
        long height = hiddenStates.shape[2];
        long width = hiddenStates.shape[3];
        int p = Config.PatchSize;
        if (height % p != 0 || width % p != 0)
        {
            throw new ArgumentException($"latent size {height}×{width} is not a multiple of the patch size {p}", nameof(hiddenStates));
        }

        if (baseSequenceLength is < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(baseSequenceLength), baseSequenceLength, "proportional attention needs a base sequence length ≥ 2 (its log divides)");
        }

        // 1. Embeddings: image tokens, RoPE rows of the token grid, conditioning vector, caption mask.
        Tensor image = patch_embedder.forward(hiddenStates);                                // [B, N, D]
        tap?.Invoke("patch_embed", image);
        long imageTokens = image.shape[1];
        var (cos, sin) = LuminaRotaryEmbedding.Table(Config.HeadDim, height / p, width / p, ropeScaling, hiddenStates.device);
        tap?.Invoke("rope_cos", cos);
        tap?.Invoke("rope_sin", sin);
        using Tensor temb = time_caption_embed.Forward(timestep, encoderHiddenStates, encoderMask);   // [B, Dt]
        tap?.Invoke("temb", temb);
        using Tensor maskBool = encoderMask.to_type(ScalarType.Bool);
        using Tensor captionMask = maskBool.view(batch, 1, 1, -1);                         // [B, 1, 1, L]

        // 2. RAS seam: keep only the image tokens to compute, and their RoPE rows.
        using RotaryRows rope = Rows(cos, sin, batch, routing);
        if (routing is not null)
        {
            using Tensor all = image;
            image = routing.GatherImageTokens(all);                                        // [B, n, D]
        }

        // 3. Blocks.
        for (int j = 0; j < layers.Count; j++)
        {
            Tensor next;
            int block = j;
            using (BlockWeights?.Use(layers[j]))
            {
                next = layers[j].Forward(image, rope, encoderHiddenStates, captionMask, temb, baseSequenceLength, routing,
                    tap is null ? null : (name, t) => tap($"block_{block}_{name}", t));
            }

            image.Dispose();
            image = next;
            tap?.Invoke($"block_{j}_hidden_states", image);
        }

        // 4. Output head; RAS seam: back onto the full token grid (zeros at cached tokens); unpatchify.
        Tensor output;
        using (image)
        {
            output = norm_out.Forward(image, temb);                                        // [B, n, p·p·C']
            tap?.Invoke("norm_out", output);
        }

        if (routing is not null)
        {
            using Tensor active = output;
            output = routing.ScatterImageTokens(active, imageTokens);                      // [B, N, p·p·C']
        }

        using (output)
        {
            return Patches.Unpatchify(output, height / p, width / p, p, Config.OutChannels);
        }
    }

    /// <summary>The rotations of the computed tokens (<see cref="RopeRows.Gather"/>). Takes ownership of the table.</summary>
    private static RotaryRows Rows(Tensor cos, Tensor sin, long batch, ITokenRouting? routing)
    {
        using (cos)
        using (sin)
        {
            var (rowsCos, rowsSin) = RopeRows.Gather(cos, sin, batch, routing);             // [1, N, d/2] or [B, n, d/2]
            return new RotaryRows(rowsCos, rowsSin);
        }
    }
}

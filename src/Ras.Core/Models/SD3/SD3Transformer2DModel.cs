using Ras.IO.Checkpoints;
using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.SD3;

/// <summary>
/// The SD3-family diffusion transformer (MMDiT / MMDiT-X). Mirrors diffusers
/// <c>SD3Transformer2DModel</c> (models/transformers/transformer_sd3.py): module and parameter names
/// equal diffusers' so <c>diffusion_pytorch_model.safetensors</c> binds by key. The forward is
/// autograd-safe; inference mode and dispose scopes belong to the caller.
/// </summary>
public sealed class SD3Transformer2DModel : StreamedBlocksModule
{
    private readonly PatchEmbed pos_embed;
    private readonly CombinedTimestepTextProjEmbeddings time_text_embed;
    private readonly Linear context_embedder;
    private readonly ModuleList<JointTransformerBlock> transformer_blocks;
    private readonly AdaLayerNormContinuous norm_out;
    private readonly Linear proj_out;

    /// <summary>Builds a randomly initialised model (diffusers' default initialisation scheme).</summary>
    public SD3Transformer2DModel(SD3TransformerConfig config)
        : base(nameof(SD3Transformer2DModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int dim = config.InnerDim;
        pos_embed = new PatchEmbed(config.PatchSize, config.InChannels, dim, config.PosEmbedMaxSize,
            baseSize: config.SampleSize / (double)config.PatchSize);
        time_text_embed = new CombinedTimestepTextProjEmbeddings(dim, config.PooledProjectionDim);
        context_embedder = nn.Linear(config.JointAttentionDim, config.CaptionProjectionDim, device: ModuleConstruction.Device);
        transformer_blocks = nn.ModuleList(Enumerable.Range(0, config.NumLayers)
            .Select(i => new JointTransformerBlock(i, config,
                contextPreOnly: i == config.NumLayers - 1,
                dualAttention: config.DualAttentionLayers.Contains(i)))
            .ToArray());
        norm_out = new AdaLayerNormContinuous(dim, dim);
        proj_out = nn.Linear(dim, (long)config.PatchSize * config.PatchSize * config.OutChannels, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public SD3TransformerConfig Config { get; }

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> Blocks => [.. transformer_blocks];

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> ResidentModules => [pos_embed, time_text_embed, context_embedder, norm_out, proj_out];

    /// <inheritdoc />


    /// <summary>
    /// Loads a diffusers <c>transformer/</c> folder (<c>config.json</c> plus
    /// <c>diffusion_pytorch_model.safetensors</c> or its sharded index) on <paramref name="device"/>,
    /// computed in float32 and held as <paramref name="storage"/> says.
    /// </summary>
    /// <exception cref="Errors.RasInputException">Bad config, malformed weights, or keys that do not fit.</exception>
    public static SD3Transformer2DModel FromPretrained(string folder, Device? device = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        var config = SD3TransformerConfig.Load(Path.Combine(folder, "config.json"));
        using var store = TensorStore.OpenComponent(folder);
        return ModelLoader.Load(() => new SD3Transformer2DModel(config), store, storage, device, (model, source) => StateDictBinder.Load(model, source));
    }

    /// <summary>
    /// Predicts the flow-matching velocity.
    /// <c>hiddenStates [B, C, H, W]</c> latents, <c>encoderHiddenStates [B, L, joint_attention_dim]</c>,
    /// <c>pooledProjections [B, pooled_projection_dim]</c>, <c>timestep [B]</c> on the 0..1000 scale →
    /// <c>[B, out_channels, H, W]</c>. With a <paramref name="routing"/>, only the image tokens it
    /// selects are computed and the rest of the output is zero.
    /// </summary>
    public Tensor Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor pooledProjections, Tensor timestep, ITokenRouting? routing = null) =>
        Forward(hiddenStates, encoderHiddenStates, pooledProjections, timestep, routing, tap: null);

    /// <summary>As the public forward; <paramref name="tap"/> receives named intermediates (fixture tests).</summary>
    internal Tensor Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor pooledProjections, Tensor timestep,
        ITokenRouting? routing, Action<string, Tensor>? tap)
    {
        long height = hiddenStates.shape[2];
        long width = hiddenStates.shape[3];
        int p = Config.PatchSize;
        if (height % p != 0 || width % p != 0)
        {
            throw new ArgumentException($"latent size {height}×{width} is not a multiple of the patch size {p}", nameof(hiddenStates));
        }

        // 1. Embeddings: image tokens (+ cropped position table), conditioning vector, text stream.
        Tensor image = pos_embed.forward(hiddenStates);                                  // [B, N, D]
        tap?.Invoke("patch_embed", image);
        using Tensor temb = time_text_embed.Forward(timestep, pooledProjections);         // [B, D]
        tap?.Invoke("temb", temb);
        Tensor text = context_embedder.forward(encoderHiddenStates);                      // [B, L, D]
        tap?.Invoke("context_embed", text);
        long imageTokens = image.shape[1];

        // 2. RAS seam: keep only the image tokens to compute.
        if (routing is not null)
        {
            using Tensor all = image;
            image = routing.GatherImageTokens(all);                                       // [B, n, D]
        }

        // 3. Joint blocks.
        for (int j = 0; j < transformer_blocks.Count; j++)
        {
            Tensor? nextText;
            Tensor nextImage;

            // One scope per block frees its intermediates as soon as it is done (otherwise every block's would live
            // until the caller's scope ends: gigabytes at 1024² or for 38 blocks). Disposing handles is
            // autograd-safe: the graph keeps its own references.
            using (var blockScope = NewDisposeScope())
            using (BlockWeights?.Use(transformer_blocks[j]))
            {
                (nextImage, nextText) = transformer_blocks[j].Forward(image, text, temb, routing);
                nextImage.MoveToOuterDisposeScope();
                nextText?.MoveToOuterDisposeScope();
            }

            image.Dispose();
            text.Dispose();
            image = nextImage;
            text = nextText!;
            tap?.Invoke($"block_{j}_hidden_states", image);
            if (nextText is not null)
            {
                tap?.Invoke($"block_{j}_encoder_hidden_states", nextText);
            }
        }

        // 4. Output norm and projection; RAS seam: back onto the full token grid.
        Tensor output;
        using (image)
        using (Tensor normed = norm_out.Forward(image, temb))
        {
            tap?.Invoke("norm_out", normed);
            output = proj_out.forward(normed);                                            // [B, n, p·p·C]
            tap?.Invoke("proj_out", output);
        }

        if (routing is not null)
        {
            using Tensor active = output;
            output = routing.ScatterImageTokens(active, imageTokens);                     // [B, N, p·p·C]
        }

        using (output)
        {
            return Patches.Unpatchify(output, height / p, width / p, p, Config.OutChannels);
        }
    }
}

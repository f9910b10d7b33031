using Ras.IO.Checkpoints;
using Ras.Models.Common;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ras.Models.Flux;

/// <summary>
/// The FLUX.1 diffusion transformer: double-stream (MMDiT) blocks, then single-stream blocks over the joint
/// <c>[text, image]</c> sequence, 3-axis RoPE, a timestep (+ guidance) + pooled-text conditioning vector. Mirrors diffusers
/// <c>FluxTransformer2DModel</c> (models/transformers/transformer_flux.py): module and parameter names equal diffusers'
/// so <c>diffusion_pytorch_model.safetensors</c> binds by key. It works on packed latents (<see cref="FluxLatents"/>).
/// The forward is autograd-safe; inference mode and dispose scopes belong to the caller.
/// </summary>
public sealed class FluxTransformer2DModel : StreamedBlocksModule
{
    private readonly FluxPosEmbed pos_embed;
    private readonly CombinedTimestepGuidanceTextProjEmbeddings time_text_embed;
    private readonly Linear context_embedder;
    private readonly Linear x_embedder;
    private readonly ModuleList<FluxTransformerBlock> transformer_blocks;
    private readonly ModuleList<FluxSingleTransformerBlock> single_transformer_blocks;
    private readonly AdaLayerNormContinuous norm_out;
    private readonly Linear proj_out;

    /// <summary>Builds a model with TorchSharp's default initialisation (load weights with <see cref="FromPretrained"/>).</summary>
    public FluxTransformer2DModel(FluxTransformerConfig config)
        : base(nameof(FluxTransformer2DModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int dim = config.InnerDim;
        pos_embed = new FluxPosEmbed(config.AxesDimsRope);
        time_text_embed = new CombinedTimestepGuidanceTextProjEmbeddings(dim, config.PooledProjectionDim, config.GuidanceEmbeds);
        context_embedder = nn.Linear(config.JointAttentionDim, dim, device: ModuleConstruction.Device);
        x_embedder = nn.Linear(config.InChannels, dim, device: ModuleConstruction.Device);
        transformer_blocks = nn.ModuleList(Enumerable.Range(0, config.NumLayers)
            .Select(j => new FluxTransformerBlock(j, config)).ToArray());
        single_transformer_blocks = nn.ModuleList(Enumerable.Range(0, config.NumSingleLayers)
            .Select(j => new FluxSingleTransformerBlock(new AttentionSlot(config.NumLayers + j, 0), config)).ToArray());
        norm_out = new AdaLayerNormContinuous(dim, dim);
        proj_out = nn.Linear(dim, (long)config.PatchSize * config.PatchSize * config.OutChannels, device: ModuleConstruction.Device);
        RegisterComponents();
    }

    /// <summary>The architecture.</summary>
    public FluxTransformerConfig Config { get; }

    /// <inheritdoc />
    /// <remarks>The double-stream blocks, then the single-stream blocks (call order).</remarks>
    public override IReadOnlyList<nn.Module> Blocks => [.. transformer_blocks, .. single_transformer_blocks];

    /// <inheritdoc />
    public override IReadOnlyList<nn.Module> ResidentModules => [time_text_embed, context_embedder, x_embedder, norm_out, proj_out];

    /// <summary>
    /// Loads a diffusers <c>transformer/</c> folder (<c>config.json</c> plus <c>diffusion_pytorch_model.safetensors</c> or
    /// its sharded index) on <paramref name="device"/>, computed in float32 and held as <paramref name="storage"/> says.
    /// </summary>
    /// <exception cref="Errors.RasInputException">Bad config, malformed weights, or keys that do not fit.</exception>
    public static FluxTransformer2DModel FromPretrained(string folder, Device? device = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        var config = FluxTransformerConfig.Load(Path.Combine(folder, "config.json"));
        using var store = TensorStore.OpenComponent(folder);
        return ModelLoader.Load(() => new FluxTransformer2DModel(config), store, storage, device, (model, source) => StateDictBinder.Load(model, source));
    }

    /// <summary>
    /// Predicts the flow-matching velocity of packed latents.
    /// </summary>
    /// <param name="hiddenStates"><c>[B, N, in_channels]</c> packed latents (<see cref="FluxLatents.Pack"/>).</param>
    /// <param name="encoderHiddenStates"><c>[B, L, joint_attention_dim]</c> prompt embeddings (T5).</param>
    /// <param name="pooledProjections"><c>[B, pooled_projection_dim]</c> pooled prompt embedding (CLIP).</param>
    /// <param name="timestep"><c>[B]</c> on the sigma scale (0..1); the model multiplies it by 1000.</param>
    /// <param name="guidance">
    /// <c>[B]</c> embedded guidance (e.g. 3.5; multiplied by 1000), required when <c>guidance_embeds</c>; ignored by a model
    /// without a guidance embedder (FLUX.1-schnell style).
    /// </param>
    /// <param name="imgIds"><c>[N, 3]</c> image position ids (<see cref="FluxLatents.ImageIds"/>).</param>
    /// <param name="txtIds"><c>[L, 3]</c> text position ids (<see cref="FluxLatents.TextIds"/>).</param>
    /// <param name="routing">RAS routing, or null for a dense call: only the image tokens it selects are computed and
    /// the rest of the output is zero.</param>
    /// <returns><c>[B, N, out_channels]</c>, packed.</returns>
    /// <exception cref="ArgumentException">Shapes that do not fit together, or a guidance-embedding model called without guidance.</exception>
    public Tensor Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor pooledProjections, Tensor timestep, Tensor? guidance,
        Tensor imgIds, Tensor txtIds, ITokenRouting? routing = null) =>
        Forward(hiddenStates, encoderHiddenStates, pooledProjections, timestep, guidance, imgIds, txtIds, routing, tap: null);

    /// <summary>As the public forward; <paramref name="tap"/> receives named intermediates (fixture tests).</summary>
    internal Tensor Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor pooledProjections, Tensor timestep, Tensor? guidance,
        Tensor imgIds, Tensor txtIds, ITokenRouting? routing, Action<string, Tensor>? tap)
    {
        ArgumentNullException.ThrowIfNull(hiddenStates);
        ArgumentNullException.ThrowIfNull(encoderHiddenStates);
        ArgumentNullException.ThrowIfNull(pooledProjections);
        ArgumentNullException.ThrowIfNull(timestep);
        ArgumentNullException.ThrowIfNull(imgIds);
        ArgumentNullException.ThrowIfNull(txtIds);
        CheckShapes(hiddenStates, encoderHiddenStates, imgIds, txtIds);
        if (guidance is null && time_text_embed.HasGuidance)
        {
            throw new ArgumentException("this model embeds a guidance value (guidance_embeds = true): pass guidance [B], e.g. 3.5", nameof(guidance));
        }

        long batch = hiddenStates.shape[0];
        long imageTokens = hiddenStates.shape[1];
        long textLength = encoderHiddenStates.shape[1];

        // 1. Embeddings: image tokens (no position table), conditioning vector, text stream, RoPE of [text, image].
        Tensor image = x_embedder.forward(hiddenStates);                                   // [B, N, D]
        tap?.Invoke("x_embed", image);
        using Tensor temb = Conditioning(timestep, guidance, pooledProjections, tap);      // [B, D]
        tap?.Invoke("temb", temb);
        Tensor text = context_embedder.forward(encoderHiddenStates);                       // [B, L, D]
        tap?.Invoke("context_embed", text);

        // 2. RAS seam: keep only the image tokens to compute, and their RoPE rows.
        using FluxRope rope = Rope(txtIds, imgIds, batch, routing, tap);                   // [B|1, L + n, Dh]
        if (routing is not null)
        {
            using Tensor all = image;
            image = routing.GatherImageTokens(all);                                        // [B, n, D]
        }

        // 3. Double-stream blocks. One scope per block frees its intermediates as soon as it is done; disposing
        //    handles is autograd-safe (the graph keeps its own references).
        for (int j = 0; j < transformer_blocks.Count; j++)
        {
            Tensor nextImage;
            Tensor nextText;
            using (var blockScope = NewDisposeScope())
            using (BlockWeights?.Use(transformer_blocks[j]))
            {
                (nextImage, nextText) = transformer_blocks[j].Forward(image, text, temb, rope, routing);
                nextImage.MoveToOuterDisposeScope();
                nextText.MoveToOuterDisposeScope();
            }

            image.Dispose();
            text.Dispose();
            image = nextImage;
            text = nextText;
            tap?.Invoke($"double_block_{j}_encoder_hidden_states", text);
            tap?.Invoke($"double_block_{j}_hidden_states", image);
        }

        // 4. Single-stream blocks on the joint sequence, text first (diffusers' order; the RoPE rows follow it).
        Tensor joint;
        using (text)
        using (image)
        {
            joint = torch.cat([text, image], 1);                                           // [B, L + n, D]
        }

        for (int j = 0; j < single_transformer_blocks.Count; j++)
        {
            Tensor next;
            using (var blockScope = NewDisposeScope())
            using (BlockWeights?.Use(single_transformer_blocks[j]))
            {
                next = single_transformer_blocks[j].Forward(joint, textLength, temb, rope, routing);
                next.MoveToOuterDisposeScope();
            }

            joint.Dispose();
            joint = next;
            tap?.Invoke($"single_block_{j}_hidden_states", joint);
        }

        // 5. Output norm and projection on the image rows; RAS seam: back onto the full token grid.
        Tensor output;
        using (joint)
        using (Tensor imageRows = joint.narrow(1, textLength, joint.shape[1] - textLength))   // [B, n, D]
        using (Tensor normed = norm_out.Forward(imageRows, temb))
        {
            tap?.Invoke("norm_out", normed);
            output = proj_out.forward(normed);                                             // [B, n, out]
        }

        if (routing is not null)
        {
            using Tensor active = output;
            output = routing.ScatterImageTokens(active, imageTokens);                      // [B, N, out]
        }

        return output;
    }

    /// <summary>
    /// <c>temb [B, D]</c>. The time and guidance arguments are multiplied by 1000 in float64 (exact for float32 inputs;
    /// the sinusoid rounds to float32), so <c>t/1000</c> from a float64 caller comes back as the exact timestep.
    /// </summary>
    private Tensor Conditioning(Tensor timestep, Tensor? guidance, Tensor pooled, Action<string, Tensor>? tap)
    {
        using Tensor time64 = timestep.to_type(ScalarType.Float64);
        using Tensor time = time64.mul(1000.0);
        if (!time_text_embed.HasGuidance)
        {
            return time_text_embed.Forward(time, null, pooled, tap);
        }

        using Tensor guidance64 = guidance!.to_type(ScalarType.Float64);
        using Tensor scaledGuidance = guidance64.mul(1000.0);
        return time_text_embed.Forward(time, scaledGuidance, pooled, tap);
    }

    /// <summary>
    /// The rotations of the rows the blocks compute, in query order: all L text rows, then the computed image tokens
    /// (dense: the full <c>[1, L + N, Dh]</c> table; with a routing: <c>[B, L + n, Dh]</c>, image rows gathered per sample).
    /// </summary>
    private FluxRope Rope(Tensor txtIds, Tensor imgIds, long batch, ITokenRouting? routing, Action<string, Tensor>? tap)
    {
        using Tensor ids = torch.cat([txtIds, imgIds], 0);                                  // [L + N, 3], text first
        var (cos, sin) = pos_embed.Forward(ids);                                            // [L + N, Dh]
        using (cos)
        using (sin)
        {
            tap?.Invoke("rope_cos", cos);
            tap?.Invoke("rope_sin", sin);
            if (routing is null)
            {
                return new FluxRope(cos.unsqueeze(0), sin.unsqueeze(0));                    // [1, L + N, Dh]
            }

            long textLength = txtIds.shape[0];
            long imageTokens = imgIds.shape[0];
            using Tensor textCos = cos.narrow(0, 0, textLength);
            using Tensor textSin = sin.narrow(0, 0, textLength);
            using Tensor imageCos = cos.narrow(0, textLength, imageTokens);
            using Tensor imageSin = sin.narrow(0, textLength, imageTokens);
            var (rowsCos, rowsSin) = RopeRows.Gather(imageCos, imageSin, batch, routing);    // [B, n, Dh]
            using (rowsCos)
            using (rowsSin)
            using (Tensor textCosRow = textCos.unsqueeze(0))
            using (Tensor textSinRow = textSin.unsqueeze(0))
            using (Tensor textCosRows = textCosRow.expand(batch, -1, -1))                   // [B, L, Dh]
            using (Tensor textSinRows = textSinRow.expand(batch, -1, -1))
            {
                return new FluxRope(torch.cat([textCosRows, rowsCos], 1), torch.cat([textSinRows, rowsSin], 1));
            }
        }
    }

    private void CheckShapes(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor imgIds, Tensor txtIds)
    {
        if (hiddenStates.dim() != 3 || hiddenStates.shape[2] != Config.InChannels)
        {
            throw new ArgumentException($"hidden states must be packed latents [B, N, {Config.InChannels}], found [{string.Join(", ", hiddenStates.shape)}]", nameof(hiddenStates));
        }

        if (encoderHiddenStates.dim() != 3 || encoderHiddenStates.shape[2] != Config.JointAttentionDim)
        {
            throw new ArgumentException($"encoder hidden states must be [B, L, {Config.JointAttentionDim}], found [{string.Join(", ", encoderHiddenStates.shape)}]", nameof(encoderHiddenStates));
        }

        if (imgIds.dim() != 2 || imgIds.shape[0] != hiddenStates.shape[1] || imgIds.shape[1] != 3)
        {
            throw new ArgumentException($"img_ids must be [{hiddenStates.shape[1]}, 3] (one row per packed token), found [{string.Join(", ", imgIds.shape)}]", nameof(imgIds));
        }

        if (txtIds.dim() != 2 || txtIds.shape[0] != encoderHiddenStates.shape[1] || txtIds.shape[1] != 3)
        {
            throw new ArgumentException($"txt_ids must be [{encoderHiddenStates.shape[1]}, 3] (one row per text token), found [{string.Join(", ", txtIds.shape)}]", nameof(txtIds));
        }
    }
}

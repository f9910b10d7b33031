using System.Globalization;
using Ras.Errors;
using Ras.IO.Checkpoints;

namespace Ras.Models.Flux;

/// <summary>
/// Reads Black Forest Labs' original FLUX.1 transformer layout (<c>double_blocks.N.img_attn.qkv.weight</c>,
/// <c>single_blocks.N.linear1.weight</c>, <c>final_layer.adaLN_modulation.1.weight</c>, …; with or without ComfyUI's
/// <c>model.diffusion_model.</c> prefix) as diffusers keys: fused qkv and the single blocks' fused q, k, v, mlp split at
/// load, and the final adaLN's halves swapped (BFL stores shift first, diffusers scale first). Mirrors diffusers
/// <c>convert_flux_transformer_checkpoint_to_diffusers</c> (loaders/single_file_utils.py); the config is inferred from
/// tensor shapes and FLUX.1's standard settings.
/// </summary>
public static class FluxSingleFileConverter
{
    /// <summary>Key prefix of the transformer in ComfyUI-style single files (BFL's own files have none).</summary>
    public const string Prefix = "model.diffusion_model.";

    /// <summary>The key diffusers detects a FLUX.1 transformer by (<c>CHECKPOINT_KEY_NAMES["flux"]</c>), without prefix.</summary>
    private const string MarkerKey = "double_blocks.0.img_attn.norm.key_norm.scale";

    /// <summary>True when <paramref name="source"/> holds a FLUX.1 transformer in BFL's layout.</summary>
    public static bool Matches(ITensorSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return PrefixOf(source.Contains) is not null;
    }

    /// <summary>
    /// True when a checkpoint's key set (e.g. a safetensors header's names) is a FLUX.1 transformer in BFL's layout;
    /// SD3 single files (<c>joint_blocks.*</c>) and diffusers folders (<c>transformer_blocks.*</c>) are not.
    /// </summary>
    public static bool Matches(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var set = keys as IReadOnlySet<string> ?? keys.ToHashSet(StringComparer.Ordinal);
        return PrefixOf(set.Contains) is not null;
    }

    /// <summary>
    /// The architecture, from tensor shapes: widths, layer counts, the head width (the qk-norm scale's length) and
    /// <c>guidance_embeds</c> (a <c>guidance_in</c> embedder is present). Not inferable, so FLUX.1's: patch size 1 and
    /// <c>axes_dims_rope</c> [16, 56, 56] (the result needs another value when the head width is not 128).
    /// </summary>
    /// <exception cref="RasInputException">The file holds no FLUX.1 transformer, or one with an MLP ratio other than 4.</exception>
    public static FluxTransformerConfig InferConfig(ITensorSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        string p = PrefixOf(source.Contains) ?? throw new RasInputException(
            $"{source.Source}: no FLUX.1 transformer found (expected keys like {Prefix}{MarkerKey})");
        long[] image = source.ShapeOf(p + "img_in.weight");                    // [D, in_channels]
        long[] context = source.ShapeOf(p + "txt_in.weight");                  // [D, joint_attention_dim]
        long[] pooled = source.ShapeOf(p + "vector_in.in_layer.weight");       // [D, pooled_projection_dim]
        long[] final = source.ShapeOf(p + "final_layer.linear.weight");        // [out_channels, D]
        long[] headNorm = source.ShapeOf(p + "double_blocks.0.img_attn.norm.query_norm.scale");   // [head_dim]
        long[] mlp = source.ShapeOf(p + "double_blocks.0.img_mlp.0.weight");   // [4D, D]
        int inner = (int)image[0];
        int headDim = (int)headNorm[0];
        if (mlp[0] != 4L * inner)
        {
            throw new RasInputException($"{source.Source}: MLP width {mlp[0]} is not 4 × the model width {inner} (diffusers' FluxTransformer2DModel has mlp_ratio 4)");
        }

        if (inner % headDim != 0)
        {
            throw new RasInputException($"{source.Source}: model width {inner} is not a multiple of the head width {headDim}");
        }

        return new FluxTransformerConfig
        {
            PatchSize = 1,
            InChannels = (int)image[1],
            OutChannels = (int)final[0],
            NumLayers = CountBlocks(source, p + "double_blocks."),
            NumSingleLayers = CountBlocks(source, p + "single_blocks."),
            AttentionHeadDim = headDim,
            NumAttentionHeads = inner / headDim,
            JointAttentionDim = (int)context[1],
            PooledProjectionDim = (int)pooled[1],
            GuidanceEmbeds = source.Contains(p + "guidance_in.in_layer.weight"),
            AxesDimsRope = [16, 56, 56],
        };
    }

    /// <summary>The diffusers view of the BFL-layout transformer for <paramref name="config"/>.</summary>
    /// <exception cref="RasInputException">The file holds no FLUX.1 transformer.</exception>
    /// <exception cref="CheckpointException">A tensor the config needs is missing.</exception>
    public static MappedTensorSource Convert(ITensorSource source, FluxTransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(config);
        string p = PrefixOf(source.Contains) ?? throw new RasInputException($"{source.Source}: no FLUX.1 transformer found");
        long d = config.InnerDim;
        var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal);
        void Copy(string target, string from) => map[target] = TensorMapping.Copy(p + from);
        void Linear(string target, string from)
        {
            Copy(target + ".weight", from + ".weight");
            Copy(target + ".bias", from + ".bias");
        }

        void Split(string from, params (string Target, long Start, long Count)[] parts)
        {
            foreach (var (target, start, count) in parts)
            {
                map[target + ".weight"] = TensorMapping.Rows(p + from + ".weight", start, count);
                map[target + ".bias"] = TensorMapping.Rows(p + from + ".bias", start, count);
            }
        }

        // 1. Embedders.
        Linear("x_embedder", "img_in");
        Linear("context_embedder", "txt_in");
        Linear("time_text_embed.timestep_embedder.linear_1", "time_in.in_layer");
        Linear("time_text_embed.timestep_embedder.linear_2", "time_in.out_layer");
        Linear("time_text_embed.text_embedder.linear_1", "vector_in.in_layer");
        Linear("time_text_embed.text_embedder.linear_2", "vector_in.out_layer");
        if (config.GuidanceEmbeds)
        {
            Linear("time_text_embed.guidance_embedder.linear_1", "guidance_in.in_layer");
            Linear("time_text_embed.guidance_embedder.linear_2", "guidance_in.out_layer");
        }

        // 2. Double-stream blocks: img_* is the image stream, txt_* the text stream.
        for (int i = 0; i < config.NumLayers; i++)
        {
            string t = $"transformer_blocks.{i}.";
            string b = $"double_blocks.{i}.";
            Linear(t + "norm1.linear", b + "img_mod.lin");
            Linear(t + "norm1_context.linear", b + "txt_mod.lin");
            Split(b + "img_attn.qkv", (t + "attn.to_q", 0, d), (t + "attn.to_k", d, d), (t + "attn.to_v", 2 * d, d));
            Split(b + "txt_attn.qkv", (t + "attn.add_q_proj", 0, d), (t + "attn.add_k_proj", d, d), (t + "attn.add_v_proj", 2 * d, d));
            Copy(t + "attn.norm_q.weight", b + "img_attn.norm.query_norm.scale");
            Copy(t + "attn.norm_k.weight", b + "img_attn.norm.key_norm.scale");
            Copy(t + "attn.norm_added_q.weight", b + "txt_attn.norm.query_norm.scale");
            Copy(t + "attn.norm_added_k.weight", b + "txt_attn.norm.key_norm.scale");
            Linear(t + "attn.to_out.0", b + "img_attn.proj");
            Linear(t + "attn.to_add_out", b + "txt_attn.proj");
            Linear(t + "ff.net.0.proj", b + "img_mlp.0");
            Linear(t + "ff.net.2", b + "img_mlp.2");
            Linear(t + "ff_context.net.0.proj", b + "txt_mlp.0");
            Linear(t + "ff_context.net.2", b + "txt_mlp.2");
        }

        // 3. Single-stream blocks: linear1 is q, k, v and the MLP input side by side; linear2 their joint output projection.
        for (int i = 0; i < config.NumSingleLayers; i++)
        {
            string t = $"single_transformer_blocks.{i}.";
            string b = $"single_blocks.{i}.";
            Linear(t + "norm.linear", b + "modulation.lin");
            Split(b + "linear1", (t + "attn.to_q", 0, d), (t + "attn.to_k", d, d), (t + "attn.to_v", 2 * d, d),
                (t + "proj_mlp", 3 * d, config.MlpHiddenDim));
            Copy(t + "attn.norm_q.weight", b + "norm.query_norm.scale");
            Copy(t + "attn.norm_k.weight", b + "norm.key_norm.scale");
            Linear(t + "proj_out", b + "linear2");
        }

        // 4. Output: BFL's final adaLN is [shift, scale], diffusers' AdaLayerNormContinuous [scale, shift].
        Linear("proj_out", "final_layer.linear");
        map["norm_out.linear.weight"] = TensorMapping.Swapped(p + "final_layer.adaLN_modulation.1.weight");
        map["norm_out.linear.bias"] = TensorMapping.Swapped(p + "final_layer.adaLN_modulation.1.bias");
        return new MappedTensorSource(source, map);
    }

    private static string? PrefixOf(Func<string, bool> contains)
    {
        foreach (string prefix in new[] { Prefix, string.Empty })
        {
            if (contains(prefix + MarkerKey))
            {
                return prefix;
            }
        }

        return null;
    }

    private static int CountBlocks(ITensorSource source, string blockPrefix)
    {
        int count = 0;
        foreach (string key in source.Keys.Where(k => k.StartsWith(blockPrefix, StringComparison.Ordinal)))
        {
            int end = key.IndexOf('.', blockPrefix.Length);
            if (int.TryParse(key.AsSpan(blockPrefix.Length, (end < 0 ? key.Length : end) - blockPrefix.Length),
                NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                count = Math.Max(count, index + 1);
            }
        }

        return count;
    }
}

using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.Models.Common;

namespace Ras.Models.SD3;

/// <summary>
/// Reads Stability's single-file SD3 / SD3.5 transformer layout (<c>model.diffusion_model.joint_blocks.N.x_block.attn.qkv.weight</c>, …)
/// as diffusers keys: fused qkv split into q/k/v, and the shift/scale halves of the context-pre-only and final
/// adaLN swapped (the original stores shift first). Mirrors diffusers <c>convert_sd3_transformer_checkpoint_to_diffusers</c>
/// (loaders/single_file_utils.py); the config is inferred from tensor shapes and the family's standard settings.
/// </summary>
public static class SD3SingleFileConverter
{
    /// <summary>Key prefix of the transformer in SD3 single files (some exports omit it).</summary>
    public const string Prefix = "model.diffusion_model.";

    /// <summary>True when <paramref name="source"/> holds a single-file SD3 transformer.</summary>
    public static bool Matches(ITensorSource source) => PrefixOf(source) is not null;

    /// <summary>The architecture, from tensor shapes: head width 64 and sample size 128 are the SD3 family's standard settings.</summary>
    /// <exception cref="RasInputException">The file holds no SD3 transformer.</exception>
    public static SD3TransformerConfig InferConfig(ITensorSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        string p = PrefixOf(source) ?? throw new RasInputException($"{source.Source}: no SD3 transformer found (expected keys like {Prefix}joint_blocks.0.x_block.attn.qkv.weight)");
        long[] patch = source.ShapeOf(p + "x_embedder.proj.weight");          // [D, C, p, p]
        long[] context = source.ShapeOf(p + "context_embedder.weight");      // [caption_projection_dim, joint_attention_dim]
        long[] pooled = source.ShapeOf(p + "y_embedder.mlp.0.weight");       // [D, pooled]
        long[] final = source.ShapeOf(p + "final_layer.linear.weight");      // [p·p·out, D]
        long[] table = source.ShapeOf(p + "pos_embed");                      // [1, M·M, D]
        int layers = source.Keys.Where(k => k.StartsWith(p + "joint_blocks.", StringComparison.Ordinal))
            .Select(k => int.Parse(k[(p.Length + "joint_blocks.".Length)..].Split('.')[0], System.Globalization.CultureInfo.InvariantCulture))
            .Max() + 1;
        int inner = (int)patch[0];
        int patchSize = (int)patch[2];
        return new SD3TransformerConfig
        {
            SampleSize = 128,
            PatchSize = patchSize,
            InChannels = (int)patch[1],
            NumLayers = layers,
            AttentionHeadDim = 64,
            NumAttentionHeads = inner / 64,
            JointAttentionDim = (int)context[1],
            CaptionProjectionDim = (int)context[0],
            PooledProjectionDim = (int)pooled[1],
            OutChannels = (int)(final[0] / (patchSize * patchSize)),
            PosEmbedMaxSize = (int)Math.Round(Math.Sqrt(table[1])),
            DualAttentionLayers = Enumerable.Range(0, layers).Where(i => source.Contains($"{p}joint_blocks.{i}.x_block.attn2.qkv.weight")).ToArray(),
            QkNorm = source.Contains(p + "joint_blocks.0.x_block.attn.ln_q.weight") ? QkNorm.RmsNorm : QkNorm.None,
        };
    }

    /// <summary>The diffusers view of the single-file transformer for <paramref name="config"/>.</summary>
    public static MappedTensorSource Convert(ITensorSource source, SD3TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(config);
        string p = PrefixOf(source) ?? throw new RasInputException($"{source.Source}: no SD3 transformer found");
        var map = new Dictionary<string, TensorMapping>(StringComparer.Ordinal);
        void Copy(string target, string from) => map[target] = TensorMapping.Copy(p + from);
        void Linear(string target, string from)
        {
            Copy(target + ".weight", from + ".weight");
            Copy(target + ".bias", from + ".bias");
        }

        void Fused(string target, string from)
        {
            string[] names = target.EndsWith("attn", StringComparison.Ordinal) || target.EndsWith("attn2", StringComparison.Ordinal)
                ? ["to_q", "to_k", "to_v"] : ["add_q_proj", "add_k_proj", "add_v_proj"];
            string baseName = target.EndsWith("_context", StringComparison.Ordinal) ? target[..^"_context".Length] : target;
            for (int i = 0; i < 3; i++)
            {
                map[$"{baseName}.{names[i]}.weight"] = TensorMapping.Slice(p + from + ".qkv.weight", i, 3);
                map[$"{baseName}.{names[i]}.bias"] = TensorMapping.Slice(p + from + ".qkv.bias", i, 3);
            }
        }

        void Swapped(string target, string from)
        {
            map[target + ".weight"] = TensorMapping.Swapped(p + from + ".weight");
            map[target + ".bias"] = TensorMapping.Swapped(p + from + ".bias");
        }

        Copy("pos_embed.pos_embed", "pos_embed");
        Linear("pos_embed.proj", "x_embedder.proj");
        Linear("time_text_embed.timestep_embedder.linear_1", "t_embedder.mlp.0");
        Linear("time_text_embed.timestep_embedder.linear_2", "t_embedder.mlp.2");
        Linear("time_text_embed.text_embedder.linear_1", "y_embedder.mlp.0");
        Linear("time_text_embed.text_embedder.linear_2", "y_embedder.mlp.2");
        Linear("context_embedder", "context_embedder");
        for (int i = 0; i < config.NumLayers; i++)
        {
            string t = $"transformer_blocks.{i}.";
            string x = $"joint_blocks.{i}.x_block.";
            string c = $"joint_blocks.{i}.context_block.";
            bool last = i == config.NumLayers - 1;
            Fused(t + "attn", x + "attn");
            Fused(t + "attn_context", c + "attn");
            Linear(t + "attn.to_out.0", x + "attn.proj");
            if (!last)
            {
                Linear(t + "attn.to_add_out", c + "attn.proj");
            }

            if (config.QkNorm == QkNorm.RmsNorm)
            {
                Copy(t + "attn.norm_q.weight", x + "attn.ln_q.weight");
                Copy(t + "attn.norm_k.weight", x + "attn.ln_k.weight");
                Copy(t + "attn.norm_added_q.weight", c + "attn.ln_q.weight");
                Copy(t + "attn.norm_added_k.weight", c + "attn.ln_k.weight");
            }

            if (config.DualAttentionLayers.Contains(i))
            {
                Fused(t + "attn2", x + "attn2");
                Linear(t + "attn2.to_out.0", x + "attn2.proj");
                if (config.QkNorm == QkNorm.RmsNorm)
                {
                    Copy(t + "attn2.norm_q.weight", x + "attn2.ln_q.weight");
                    Copy(t + "attn2.norm_k.weight", x + "attn2.ln_k.weight");
                }
            }

            Linear(t + "norm1.linear", x + "adaLN_modulation.1");
            if (last)
            {
                Swapped(t + "norm1_context.linear", c + "adaLN_modulation.1");
            }
            else
            {
                Linear(t + "norm1_context.linear", c + "adaLN_modulation.1");
            }

            Linear(t + "ff.net.0.proj", x + "mlp.fc1");
            Linear(t + "ff.net.2", x + "mlp.fc2");
            if (!last)
            {
                Linear(t + "ff_context.net.0.proj", c + "mlp.fc1");
                Linear(t + "ff_context.net.2", c + "mlp.fc2");
            }
        }

        Linear("proj_out", "final_layer.linear");
        Swapped("norm_out.linear", "final_layer.adaLN_modulation.1");
        return new MappedTensorSource(source, map);
    }

    private static string? PrefixOf(ITensorSource source)
    {
        foreach (string prefix in new[] { Prefix, string.Empty })
        {
            if (source.Contains(prefix + "joint_blocks.0.x_block.attn.qkv.weight"))
            {
                return prefix;
            }
        }

        return null;
    }
}

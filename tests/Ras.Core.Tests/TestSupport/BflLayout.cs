using Ras.IO.Safetensors;
using Ras.Models.Flux;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// Writes a model in Black Forest Labs' layout by hand (the inverse of diffusers' conversion, written independently of
/// the converter's key map): BFL names, q/k/v (and the single blocks' MLP input) fused along dim 0, the final adaLN as
/// [shift, scale]. A prefixed file also carries a tensor of another component, as ComfyUI's all-in-one files do.
/// </summary>
public static class BflLayout
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> under <paramref name="prefix"/>, after <paramref name="edit"/>.</summary>
    public static string Write(FluxTransformer2DModel model, string path, string prefix, Action<Dictionary<string, Tensor>>? edit = null)
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = Tensors(model);
        edit?.Invoke(tensors);
        var file = tensors.ToDictionary(kv => prefix + kv.Key, kv => kv.Value.contiguous());
        if (prefix.Length > 0)
        {
            file["first_stage_model.decoder.conv_in.weight"] = zeros(4, 16, 3, 3);
        }

        SafetensorsWriter.Write(path, file);
        return path;
    }

    /// <summary><paramref name="model"/>'s weights under BFL names (no prefix); the tensors belong to the caller's dispose scope.</summary>
    public static Dictionary<string, Tensor> Tensors(FluxTransformer2DModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Config;
        var state = model.state_dict();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        void Linear(string bfl, string diffusers)
        {
            tensors[bfl + ".weight"] = state[diffusers + ".weight"];
            tensors[bfl + ".bias"] = state[diffusers + ".bias"];
        }

        void Fused(string bfl, params string[] diffusers)
        {
            tensors[bfl + ".weight"] = cat(diffusers.Select(n => state[n + ".weight"]).ToArray(), 0);
            tensors[bfl + ".bias"] = cat(diffusers.Select(n => state[n + ".bias"]).ToArray(), 0);
        }

        Linear("img_in", "x_embedder");
        Linear("txt_in", "context_embedder");
        Linear("time_in.in_layer", "time_text_embed.timestep_embedder.linear_1");
        Linear("time_in.out_layer", "time_text_embed.timestep_embedder.linear_2");
        Linear("vector_in.in_layer", "time_text_embed.text_embedder.linear_1");
        Linear("vector_in.out_layer", "time_text_embed.text_embedder.linear_2");
        if (config.GuidanceEmbeds)
        {
            Linear("guidance_in.in_layer", "time_text_embed.guidance_embedder.linear_1");
            Linear("guidance_in.out_layer", "time_text_embed.guidance_embedder.linear_2");
        }

        for (int i = 0; i < config.NumLayers; i++)
        {
            string b = $"double_blocks.{i}.";
            string t = $"transformer_blocks.{i}.";
            Linear(b + "img_mod.lin", t + "norm1.linear");
            Linear(b + "txt_mod.lin", t + "norm1_context.linear");
            Fused(b + "img_attn.qkv", t + "attn.to_q", t + "attn.to_k", t + "attn.to_v");
            Fused(b + "txt_attn.qkv", t + "attn.add_q_proj", t + "attn.add_k_proj", t + "attn.add_v_proj");
            tensors[b + "img_attn.norm.query_norm.scale"] = state[t + "attn.norm_q.weight"];
            tensors[b + "img_attn.norm.key_norm.scale"] = state[t + "attn.norm_k.weight"];
            tensors[b + "txt_attn.norm.query_norm.scale"] = state[t + "attn.norm_added_q.weight"];
            tensors[b + "txt_attn.norm.key_norm.scale"] = state[t + "attn.norm_added_k.weight"];
            Linear(b + "img_attn.proj", t + "attn.to_out.0");
            Linear(b + "txt_attn.proj", t + "attn.to_add_out");
            Linear(b + "img_mlp.0", t + "ff.net.0.proj");
            Linear(b + "img_mlp.2", t + "ff.net.2");
            Linear(b + "txt_mlp.0", t + "ff_context.net.0.proj");
            Linear(b + "txt_mlp.2", t + "ff_context.net.2");
        }

        for (int i = 0; i < config.NumSingleLayers; i++)
        {
            string b = $"single_blocks.{i}.";
            string t = $"single_transformer_blocks.{i}.";
            Linear(b + "modulation.lin", t + "norm.linear");
            Fused(b + "linear1", t + "attn.to_q", t + "attn.to_k", t + "attn.to_v", t + "proj_mlp");
            tensors[b + "norm.query_norm.scale"] = state[t + "attn.norm_q.weight"];
            tensors[b + "norm.key_norm.scale"] = state[t + "attn.norm_k.weight"];
            Linear(b + "linear2", t + "proj_out");
        }

        Linear("final_layer.linear", "proj_out");
        foreach (string part in new[] { "weight", "bias" })
        {
            Tensor[] halves = state["norm_out.linear." + part].chunk(2, 0);              // diffusers: scale, shift
            tensors["final_layer.adaLN_modulation.1." + part] = cat([halves[1], halves[0]], 0);
        }

        return tensors;
    }
}

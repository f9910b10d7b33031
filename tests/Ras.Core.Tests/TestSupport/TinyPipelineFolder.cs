using System.Text.Json;
using Ras.IO.Safetensors;
using Ras.Models.Vae;
using Ras.Tokenizers.Clip;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// The pieces every tiny diffusers-layout pipeline folder is written from (<see cref="TinyPipelines"/>,
/// <see cref="TinyLuminaPipelines"/>, <see cref="TinyFluxPipelines"/>): <c>model_index.json</c>, components written config
/// first then weights, the byte-level CLIP tokenizer, the stand-in T5 tokenizer, and the real config field names.
/// </summary>
public static class TinyPipelineFolder
{
    /// <summary>Writes <c>model_index.json</c>: the pipeline class and each component's (library, class).</summary>
    public static void ModelIndex(string folder, string className, IReadOnlyDictionary<string, (string Library, string Class)> components)
    {
        Directory.CreateDirectory(folder);
        var index = new Dictionary<string, object> { ["_class_name"] = className, ["_diffusers_version"] = "0.32.2" };
        foreach (var (name, (library, type)) in components)
        {
            index[name] = new[] { library, type };
        }

        Json(Path.Combine(folder, "model_index.json"), index);
    }

    /// <summary>
    /// Writes <paramref name="component"/>'s <c>config.json</c> first (so <paramref name="create"/> can read it), then the weights
    /// (without the keys <paramref name="omit"/> picks, e.g. a projection the real layout lacks).
    /// </summary>
    public static void Write(string folder, string component, object config, string weights, Func<nn.Module> create, Func<string, bool>? omit = null)
    {
        string dir = Path.Combine(folder, component);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config as string ?? JsonSerializer.Serialize(config));
        using nn.Module model = create();
        var state = model.state_dict();
        SafetensorsWriter.Write(Path.Combine(dir, weights), omit is null ? state : state.Where(kv => !omit(kv.Key)).ToDictionary());
    }

    /// <summary>Writes a scheduler config with <paramref name="fields"/> (the class name is added).</summary>
    public static void Scheduler(string folder, Dictionary<string, object> fields)
    {
        fields["_class_name"] = "FlowMatchEulerDiscreteScheduler";
        Json(Path.Combine(folder, "scheduler", "scheduler_config.json"), fields);
    }

    /// <summary><paramref name="create"/> after seeding libtorch's generator.</summary>
    public static T Seeded<T>(int seed, Func<T> create)
    {
        manual_seed(seed);
        return create();
    }

    /// <summary>Every weight (zero-initialised ones included) moved off its initial value, so every path matters.</summary>
    public static T Perturbed<T>(int seed, Func<T> create, double spread = 0.1)
        where T : nn.Module
    {
        T model = Seeded(seed, create);
        using var noGrad = no_grad();
        foreach (var (_, parameter) in model.named_parameters())
        {
            parameter.add_(randn_like(parameter).mul(spread));
        }

        return model;
    }

    /// <summary>An <c>AutoencoderKL</c> config.json for <paramref name="c"/> (a shift factor of 0 is written as null, as SDXL's VAE has none).</summary>
    public static Dictionary<string, object?> VaeJson(AutoencoderKLConfig c, int sampleSize) => new()
    {
        ["_class_name"] = "AutoencoderKL", ["in_channels"] = c.InChannels, ["out_channels"] = c.OutChannels, ["latent_channels"] = c.LatentChannels,
        ["block_out_channels"] = c.BlockOutChannels, ["layers_per_block"] = c.LayersPerBlock, ["norm_num_groups"] = c.NormNumGroups,
        ["down_block_types"] = Enumerable.Repeat("DownEncoderBlock2D", c.BlockOutChannels.Count), ["up_block_types"] = Enumerable.Repeat("UpDecoderBlock2D", c.BlockOutChannels.Count),
        ["act_fn"] = "silu", ["scaling_factor"] = c.ScalingFactor, ["shift_factor"] = c.ShiftFactor == 0 ? null : c.ShiftFactor,
        ["use_quant_conv"] = c.UseQuantConv, ["use_post_quant_conv"] = c.UsePostQuantConv, ["sample_size"] = sampleSize,
    };

    /// <summary>A byte-level CLIP vocabulary (256 symbols, 256 end-of-word symbols, BOS, EOS) with no merges; returns its size.</summary>
    public static int ClipTokenizer(string folder, string padToken)
    {
        Directory.CreateDirectory(folder);
        var order = Enumerable.Range(0, 256).Where(b => b is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF))
            .Concat(Enumerable.Range(0, 256).Where(b => b is not ((>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF))))
            .Select(b => ByteLevelAlphabet.Symbols[b].ToString()).ToList();
        var vocab = new Dictionary<string, int>();
        foreach (string symbol in order.Concat(order.Select(s => s + "</w>")).Append("<|startoftext|>").Append("<|endoftext|>"))
        {
            vocab[symbol] = vocab.Count;
        }

        Json(Path.Combine(folder, "vocab.json"), vocab);
        File.WriteAllText(Path.Combine(folder, "merges.txt"), "#version: 0.2\n");
        var config = new Dictionary<string, object>
        {
            ["tokenizer_class"] = "CLIPTokenizer", ["model_max_length"] = 77, ["do_lower_case"] = true, ["bos_token"] = "<|startoftext|>",
            ["eos_token"] = "<|endoftext|>", ["unk_token"] = "<|endoftext|>", ["pad_token"] = padToken,
        };
        if (padToken == "!")
        {
            config["added_tokens_decoder"] = new Dictionary<string, object>
            {
                ["0"] = new Dictionary<string, object> { ["content"] = "!", ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true },
            };
        }

        Json(Path.Combine(folder, "tokenizer_config.json"), config);
        return vocab.Count;
    }

    /// <summary>A transformers CLIP text config.json (<paramref name="architecture"/>: <c>CLIPTextModelWithProjection</c> or <c>CLIPTextModel</c>).</summary>
    public static Dictionary<string, object> ClipJson(int vocab, int hidden, int layers, int projection, string act, string architecture = "CLIPTextModelWithProjection", int heads = 2) => new()
    {
        ["architectures"] = new[] { architecture }, ["model_type"] = "clip_text_model", ["vocab_size"] = vocab,
        ["hidden_size"] = hidden, ["intermediate_size"] = hidden * 2, ["projection_dim"] = projection, ["num_hidden_layers"] = layers,
        ["num_attention_heads"] = heads, ["max_position_embeddings"] = 77, ["hidden_act"] = act, ["layer_norm_eps"] = 1e-5, ["eos_token_id"] = 2,
        ["bos_token_id"] = 0, ["pad_token_id"] = 1, ["torch_dtype"] = "float32",
    };

    /// <summary>The stand-in T5 SentencePiece model and its tokenizer config.</summary>
    public static void T5Tokenizer(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "spiece.model"), StandInSentencePiece.T5LikeUnigram());
        Json(Path.Combine(folder, "tokenizer_config.json"), new Dictionary<string, object>
        {
            ["tokenizer_class"] = "T5Tokenizer", ["eos_token"] = "</s>", ["pad_token"] = "<pad>", ["unk_token"] = "<unk>", ["model_max_length"] = 512,
        });
    }

    /// <summary>
    /// A transformers T5 encoder config.json of width <paramref name="dModel"/> over the stand-in vocabulary, or (with
    /// <paramref name="standard"/>) over T5's real 32,128-token vocabulary with T5-XXL's relative-position settings.
    /// </summary>
    public static Dictionary<string, object> T5Json(int dModel, bool standard = false) => new()
    {
        ["architectures"] = new[] { "T5EncoderModel" }, ["model_type"] = "t5", ["vocab_size"] = standard ? 32128 : 1000, ["d_model"] = dModel,
        ["d_kv"] = 4, ["d_ff"] = 24, ["num_layers"] = standard ? 1 : 2, ["num_heads"] = 2, ["relative_attention_num_buckets"] = standard ? 32 : 8,
        ["relative_attention_max_distance"] = standard ? 128 : 16, ["feed_forward_proj"] = "gated-gelu", ["dense_act_fn"] = "gelu_new",
        ["is_gated_act"] = true, ["layer_norm_epsilon"] = 1e-6, ["torch_dtype"] = "float32",
    };

    /// <summary>Writes <paramref name="value"/> as JSON, creating the folder.</summary>
    public static void Json(string path, object value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(value));
    }
}

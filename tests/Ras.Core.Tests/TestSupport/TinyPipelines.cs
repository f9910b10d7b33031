using System.Text.Json;
using Ras.IO.Safetensors;
using Ras.Models.Clip;
using Ras.Models.SD3;
using Ras.Models.T5;
using Ras.Models.Vae;
using Ras.Schedulers;
using Ras.Tokenizers.Clip;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// A complete diffusers-layout SD3 pipeline folder with tiny random weights and the real file, key and config
/// names: two CLIP towers with a byte-level vocabulary (no merges), optionally T5 with a small T5-like SentencePiece
/// model (<see cref="StandInSentencePiece"/>; no fixture is read), a 2× VAE and the tiny transformer. Generates 32×32
/// images in well under a second per step.
/// </summary>
public static class TinyPipelines
{
    public const int ClipLHidden = 8;
    public const int ClipGHidden = 8;
    public const int ClipLProjection = 6;
    public const int ClipGProjection = 4;

    /// <summary>Transformer config matching the towers: joint width = CLIP-L + CLIP-G hidden (= T5 d_model), pooled = both projections.</summary>
    public static SD3TransformerConfig TransformerConfig => TinyModels.Config() with
    {
        JointAttentionDim = ClipLHidden + ClipGHidden,
        PooledProjectionDim = ClipLProjection + ClipGProjection,
    };

    public static AutoencoderKLConfig VaeConfig => new()
    {
        InChannels = 3, OutChannels = 3, LatentChannels = 4, BlockOutChannels = [32, 32], LayersPerBlock = 1, NormNumGroups = 32,
        ScalingFactor = 1.5, ShiftFactor = 0.1, UseQuantConv = false, UsePostQuantConv = false,
    };

    /// <summary>
    /// Writes the pipeline into <paramref name="folder"/>; <paramref name="withT5"/> adds T5 (<c>text_encoder_3</c>,
    /// <c>tokenizer_3</c>). <paramref name="identityClipLProjection"/> gives CLIP-L an identity <c>text_projection</c>
    /// (<c>projection_dim</c> = hidden size), what a Stability single file without CLIP-L's projection means.
    /// </summary>
    public static string WriteSd3Pipeline(string folder, bool withT5 = false, bool identityClipLProjection = false)
    {
        var components = new Dictionary<string, object>
        {
            ["_class_name"] = "StableDiffusion3Pipeline",
            ["_diffusers_version"] = "0.32.2",
            ["transformer"] = new[] { "diffusers", "SD3Transformer2DModel" },
            ["vae"] = new[] { "diffusers", "AutoencoderKL" },
            ["scheduler"] = new[] { "diffusers", "FlowMatchEulerDiscreteScheduler" },
            ["text_encoder"] = new[] { "transformers", "CLIPTextModelWithProjection" },
            ["text_encoder_2"] = new[] { "transformers", "CLIPTextModelWithProjection" },
            ["tokenizer"] = new[] { "transformers", "CLIPTokenizer" },
            ["tokenizer_2"] = new[] { "transformers", "CLIPTokenizer" },
        };
        if (withT5)
        {
            components["text_encoder_3"] = new[] { "transformers", "T5EncoderModel" };
            components["tokenizer_3"] = new[] { "transformers", "T5TokenizerFast" };
        }

        Directory.CreateDirectory(folder);
        Json(Path.Combine(folder, "model_index.json"), components);
        int vocabSize = WriteClipTokenizer(Path.Combine(folder, "tokenizer"), "<|endoftext|>");
        WriteClipTokenizer(Path.Combine(folder, "tokenizer_2"), "!");

        int clipLProjection = identityClipLProjection ? ClipLHidden : ClipLProjection;
        SD3TransformerConfig transformer = TransformerConfig with { PooledProjectionDim = clipLProjection + ClipGProjection };
        Write(folder, "transformer", transformer.ToJson(), "diffusion_pytorch_model.safetensors", () => TinyModels.Model(transformer));
        Json(Path.Combine(folder, "scheduler", "scheduler_config.json"), new Dictionary<string, object>
        {
            ["_class_name"] = FlowMatchEulerDiscreteSchedulerConfig.ClassName, ["num_train_timesteps"] = 1000, ["shift"] = 3.0,
        });
        Write(folder, "vae", VaeJson(), "diffusion_pytorch_model.safetensors", () => Seeded(4, () => new AutoencoderKL(VaeConfig)));
        Write(folder, "text_encoder", ClipJson(vocabSize, ClipLHidden, 2, clipLProjection, "quick_gelu"), "model.safetensors", () =>
        {
            var clipL = Seeded(5, () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json"))));
            if (identityClipLProjection)
            {
                using var noGrad = no_grad();
                clipL.state_dict()["text_projection.weight"].copy_(eye(ClipLHidden));
            }

            return clipL;
        });
        Write(folder, "text_encoder_2", ClipJson(vocabSize, ClipGHidden, 3, ClipGProjection, "gelu"), "model.safetensors",
            () => Seeded(6, () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder_2", "config.json")))));
        if (withT5)
        {
            Directory.CreateDirectory(Path.Combine(folder, "tokenizer_3"));
            File.WriteAllBytes(Path.Combine(folder, "tokenizer_3", "spiece.model"), StandInSentencePiece.T5LikeUnigram());
            Json(Path.Combine(folder, "tokenizer_3", "tokenizer_config.json"), new Dictionary<string, object>
            {
                ["tokenizer_class"] = "T5Tokenizer", ["eos_token"] = "</s>", ["pad_token"] = "<pad>", ["unk_token"] = "<unk>", ["model_max_length"] = 512,
            });
            Write(folder, "text_encoder_3", T5Json(), "model.safetensors",
                () => Seeded(7, () => new T5EncoderModel(T5Config.Load(Path.Combine(folder, "text_encoder_3", "config.json")))));
        }

        return folder;
    }

    /// <summary>A byte-level CLIP vocabulary (256 symbols, 256 end-of-word symbols, BOS, EOS) with no merges.</summary>
    private static int WriteClipTokenizer(string folder, string padToken)
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

    private static Dictionary<string, object> ClipJson(int vocab, int hidden, int layers, int projection, string act) => new()
    {
        ["architectures"] = new[] { "CLIPTextModelWithProjection" }, ["model_type"] = "clip_text_model", ["vocab_size"] = vocab,
        ["hidden_size"] = hidden, ["intermediate_size"] = hidden * 2, ["projection_dim"] = projection, ["num_hidden_layers"] = layers,
        ["num_attention_heads"] = 2, ["max_position_embeddings"] = 77, ["hidden_act"] = act, ["layer_norm_eps"] = 1e-5, ["eos_token_id"] = 2,
        ["bos_token_id"] = 0, ["pad_token_id"] = 1, ["torch_dtype"] = "float32",
    };

    private static Dictionary<string, object> T5Json() => new()
    {
        ["architectures"] = new[] { "T5EncoderModel" }, ["model_type"] = "t5", ["vocab_size"] = 1000, ["d_model"] = ClipLHidden + ClipGHidden,
        ["d_kv"] = 4, ["d_ff"] = 24, ["num_layers"] = 2, ["num_heads"] = 2, ["relative_attention_num_buckets"] = 8,
        ["relative_attention_max_distance"] = 16, ["feed_forward_proj"] = "gated-gelu", ["dense_act_fn"] = "gelu_new",
        ["is_gated_act"] = true, ["layer_norm_epsilon"] = 1e-6, ["torch_dtype"] = "float32",
    };

    private static Dictionary<string, object> VaeJson()
    {
        AutoencoderKLConfig c = VaeConfig;
        return new Dictionary<string, object>
        {
            ["_class_name"] = "AutoencoderKL", ["in_channels"] = c.InChannels, ["out_channels"] = c.OutChannels, ["latent_channels"] = c.LatentChannels,
            ["block_out_channels"] = c.BlockOutChannels, ["layers_per_block"] = c.LayersPerBlock, ["norm_num_groups"] = c.NormNumGroups,
            ["down_block_types"] = Enumerable.Repeat("DownEncoderBlock2D", c.BlockOutChannels.Count), ["up_block_types"] = Enumerable.Repeat("UpDecoderBlock2D", c.BlockOutChannels.Count),
            ["act_fn"] = "silu", ["scaling_factor"] = c.ScalingFactor, ["shift_factor"] = c.ShiftFactor, ["use_quant_conv"] = false,
            ["use_post_quant_conv"] = false, ["sample_size"] = 32,
        };
    }

    private static T Seeded<T>(int seed, Func<T> create)
    {
        manual_seed(seed);
        return create();
    }

    /// <summary>Writes <c>config.json</c> first (so <paramref name="create"/> can read it), then the weights.</summary>
    private static void Write(string folder, string component, object config, string weights, Func<nn.Module> create)
    {
        string dir = Path.Combine(folder, component);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config as string ?? JsonSerializer.Serialize(config));
        using nn.Module model = create();
        SafetensorsWriter.Write(Path.Combine(dir, weights), model.state_dict());
    }

    private static void Json(string path, object value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(value));
    }
}

using System.Text.Json;
using Ras.IO.Safetensors;
using Ras.Models.Gemma;
using Ras.Models.Lumina;
using Ras.Models.Vae;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// A complete diffusers-layout <c>LuminaText2ImgPipeline</c> folder with tiny random weights and the real file, key and
/// config names: Gemma (3 layers, GQA) over a small Gemma-like SentencePiece BPE model (<see cref="StandInSentencePiece"/>;
/// no fixture is read), an 8× VAE with quant convs and no shift factor (as Lumina's SDXL VAE), and a 2-layer Next-DiT
/// whose trained size is 128 px (64 tokens).
/// </summary>
public static class TinyLuminaPipelines
{
    public const int GemmaHidden = 24;

    /// <summary>Trained edge 16 latents × 8 = 128 px, so proportional attention has a base length of (128 // 16)² = 64.</summary>
    public static LuminaNextDiT2DModelConfig TransformerConfig => LuminaTinyModels.Config() with { SampleSize = 16, CrossAttentionDim = GemmaHidden };

    public static AutoencoderKLConfig VaeConfig => new()
    {
        InChannels = 3, OutChannels = 3, LatentChannels = 4, BlockOutChannels = [32, 32, 32, 32], LayersPerBlock = 1, NormNumGroups = 32,
        ScalingFactor = 0.13025, ShiftFactor = 0, UseQuantConv = true, UsePostQuantConv = true,
    };

    /// <summary>Writes the pipeline into <paramref name="folder"/> and returns it.</summary>
    public static string Write(string folder)
    {
        Directory.CreateDirectory(folder);
        Json(Path.Combine(folder, "model_index.json"), new Dictionary<string, object>
        {
            ["_class_name"] = "LuminaText2ImgPipeline",
            ["_diffusers_version"] = "0.32.2",
            ["transformer"] = new[] { "diffusers", "LuminaNextDiT2DModel" },
            ["text_encoder"] = new[] { "transformers", "GemmaModel" },
            ["tokenizer"] = new[] { "transformers", "GemmaTokenizerFast" },
            ["vae"] = new[] { "diffusers", "AutoencoderKL" },
            ["scheduler"] = new[] { "diffusers", "FlowMatchEulerDiscreteScheduler" },
        });

        string tokenizer = Path.Combine(folder, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        File.WriteAllBytes(Path.Combine(tokenizer, "tokenizer.model"), StandInSentencePiece.GemmaLikeBpe());
        Json(Path.Combine(tokenizer, "tokenizer_config.json"), new Dictionary<string, object>
        {
            ["tokenizer_class"] = "GemmaTokenizer", ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["unk_token"] = "<unk>", ["pad_token"] = "<unk>",
            ["add_bos_token"] = true, ["add_eos_token"] = false, ["padding_side"] = "left", ["model_max_length"] = 1000000,
        });

        LuminaNextDiT2DModelConfig transformer = TransformerConfig;
        Write(folder, "transformer", transformer.ToJson(), "diffusion_pytorch_model.safetensors", () => LuminaTinyModels.Model(transformer, seed: 11));
        Json(Path.Combine(folder, "scheduler", "scheduler_config.json"), new Dictionary<string, object>
        {
            ["_class_name"] = FlowMatchEulerDiscreteSchedulerConfig.ClassName, ["num_train_timesteps"] = 1000, ["shift"] = 1.0,
        });
        Write(folder, "vae", VaeJson(), "diffusion_pytorch_model.safetensors", () => Seeded(4, () => new AutoencoderKL(VaeConfig)));
        Write(folder, "text_encoder", GemmaJson(), "model.safetensors",
            () => Perturbed(5, () => new GemmaModel(GemmaConfig.Load(Path.Combine(folder, "text_encoder", "config.json")))));
        return folder;
    }

    private static Dictionary<string, object?> GemmaJson() => new()
    {
        ["architectures"] = new[] { "GemmaModel" }, ["model_type"] = "gemma", ["vocab_size"] = 1000, ["hidden_size"] = GemmaHidden,
        ["intermediate_size"] = 40, ["num_hidden_layers"] = 3, ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["head_dim"] = 8,
        ["rope_theta"] = 10000.0, ["rms_norm_eps"] = 1e-6, ["hidden_act"] = "gelu", ["hidden_activation"] = "gelu_pytorch_tanh",
        ["pad_token_id"] = 0, ["bos_token_id"] = 1, ["eos_token_id"] = 2, ["torch_dtype"] = "float32",
    };

    private static Dictionary<string, object?> VaeJson()
    {
        AutoencoderKLConfig c = VaeConfig;
        return new Dictionary<string, object?>
        {
            ["_class_name"] = "AutoencoderKL", ["in_channels"] = c.InChannels, ["out_channels"] = c.OutChannels, ["latent_channels"] = c.LatentChannels,
            ["block_out_channels"] = c.BlockOutChannels, ["layers_per_block"] = c.LayersPerBlock, ["norm_num_groups"] = c.NormNumGroups,
            ["down_block_types"] = Enumerable.Repeat("DownEncoderBlock2D", c.BlockOutChannels.Count), ["up_block_types"] = Enumerable.Repeat("UpDecoderBlock2D", c.BlockOutChannels.Count),
            ["act_fn"] = "silu", ["scaling_factor"] = c.ScalingFactor, ["shift_factor"] = null, ["use_quant_conv"] = true,
            ["use_post_quant_conv"] = true, ["sample_size"] = 128,
        };
    }

    private static T Seeded<T>(int seed, Func<T> create)
    {
        manual_seed(seed);
        return create();
    }

    /// <summary>Every weight (Gemma's zero-initialised (1 + w) norms included) moved off its initial value.</summary>
    private static T Perturbed<T>(int seed, Func<T> create)
        where T : nn.Module
    {
        T model = Seeded(seed, create);
        using var noGrad = no_grad();
        foreach (var (_, parameter) in model.named_parameters())
        {
            parameter.add_(randn_like(parameter).mul(0.1));
        }

        return model;
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

using Ras.Models.Gemma;
using Ras.Models.Lumina;
using Ras.Models.Vae;

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
        TinyPipelineFolder.ModelIndex(folder, "LuminaText2ImgPipeline", new Dictionary<string, (string, string)>
        {
            ["transformer"] = ("diffusers", "LuminaNextDiT2DModel"), ["text_encoder"] = ("transformers", "GemmaModel"),
            ["tokenizer"] = ("transformers", "GemmaTokenizerFast"), ["vae"] = ("diffusers", "AutoencoderKL"),
            ["scheduler"] = ("diffusers", "FlowMatchEulerDiscreteScheduler"),
        });

        string tokenizer = Path.Combine(folder, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        File.WriteAllBytes(Path.Combine(tokenizer, "tokenizer.model"), StandInSentencePiece.GemmaLikeBpe());
        TinyPipelineFolder.Json(Path.Combine(tokenizer, "tokenizer_config.json"), new Dictionary<string, object>
        {
            ["tokenizer_class"] = "GemmaTokenizer", ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["unk_token"] = "<unk>", ["pad_token"] = "<unk>",
            ["add_bos_token"] = true, ["add_eos_token"] = false, ["padding_side"] = "left", ["model_max_length"] = 1000000,
        });

        LuminaNextDiT2DModelConfig transformer = TransformerConfig;
        TinyPipelineFolder.Write(folder, "transformer", transformer.ToJson(), "diffusion_pytorch_model.safetensors", () => LuminaTinyModels.Model(transformer, seed: 11));
        TinyPipelineFolder.Scheduler(folder, new Dictionary<string, object> { ["num_train_timesteps"] = 1000, ["shift"] = 1.0 });
        TinyPipelineFolder.Write(folder, "vae", TinyPipelineFolder.VaeJson(VaeConfig, 128), "diffusion_pytorch_model.safetensors",
            () => TinyPipelineFolder.Seeded(4, () => new AutoencoderKL(VaeConfig)));
        TinyPipelineFolder.Write(folder, "text_encoder", GemmaJson(), "model.safetensors",
            () => TinyPipelineFolder.Perturbed(5, () => new GemmaModel(GemmaConfig.Load(Path.Combine(folder, "text_encoder", "config.json")))));
        return folder;
    }

    private static Dictionary<string, object?> GemmaJson() => new()
    {
        ["architectures"] = new[] { "GemmaModel" }, ["model_type"] = "gemma", ["vocab_size"] = 1000, ["hidden_size"] = GemmaHidden,
        ["intermediate_size"] = 40, ["num_hidden_layers"] = 3, ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["head_dim"] = 8,
        ["rope_theta"] = 10000.0, ["rms_norm_eps"] = 1e-6, ["hidden_act"] = "gelu", ["hidden_activation"] = "gelu_pytorch_tanh",
        ["pad_token_id"] = 0, ["bos_token_id"] = 1, ["eos_token_id"] = 2, ["torch_dtype"] = "float32",
    };
}

using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Ras.Errors;
using Ras.IO.Gguf;
using Ras.Models.Clip;
using Ras.Models.Flux;
using Ras.Models.SD3;
using Ras.Models.T5;
using Ras.Models.Vae;
using Ras.Pipelines.Flux;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Cli.Bench;

/// <summary>
/// Writes a full-size SD3-family or FLUX.1 pipeline folder with all-zero half-precision weights, for memory and speed
/// measurements without a download. The weight files are sparse (header + a hole), so writing takes seconds and
/// no disk space; key names and shapes come from our own modules built on the meta device (no memory).
/// </summary>
internal static class SyntheticPipeline
{
    public static readonly string[] Families = ["sd3-medium", "sd3.5-medium", "sd3.5-large", "flux-dev", "flux-schnell"];

    private static readonly int[] VaeBlocks = [128, 256, 512, 512];

    public static SD3TransformerConfig Transformer(string family) => family switch
    {
        "sd3-medium" => new SD3TransformerConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 16, OutChannels = 16, NumLayers = 24, AttentionHeadDim = 64, NumAttentionHeads = 24,
            JointAttentionDim = 4096, CaptionProjectionDim = 1536, PooledProjectionDim = 2048, PosEmbedMaxSize = 192,
        },
        "sd3.5-medium" => new SD3TransformerConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 16, OutChannels = 16, NumLayers = 24, AttentionHeadDim = 64, NumAttentionHeads = 24,
            JointAttentionDim = 4096, CaptionProjectionDim = 1536, PooledProjectionDim = 2048, PosEmbedMaxSize = 384,
            QkNorm = Ras.Models.Common.QkNorm.RmsNorm, DualAttentionLayers = [.. Enumerable.Range(0, 13)],
        },
        "sd3.5-large" => new SD3TransformerConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 16, OutChannels = 16, NumLayers = 38, AttentionHeadDim = 64, NumAttentionHeads = 38,
            JointAttentionDim = 4096, CaptionProjectionDim = 2432, PooledProjectionDim = 2048, PosEmbedMaxSize = 192,
            QkNorm = Ras.Models.Common.QkNorm.RmsNorm,
        },
        _ => throw new OptionsException("family", $"'{family}' is not one of {string.Join(", ", Families)}"),
    };

    /// <summary>Writes the folder; tokenizers come from the fixtures (the real CLIP vocabulary, a stand-in T5 model).</summary>
    /// <param name="layers">Transformer blocks (FLUX.1: double-stream), or null for the real depth: a shallower full-width
    /// transformer times loading and per-block costs in less memory.</param>
    /// <param name="singleLayers">FLUX.1's single-stream blocks, or null for the real depth.</param>
    /// <param name="packed">The transformer's packed form instead of <paramref name="dtype"/>: <c>q8_0</c>, <c>q4_k</c> (GGUF,
    /// <c>diffusion_pytorch_model.gguf</c>) or <c>fp8</c> (F8_E4M3 safetensors), or null.</param>
    public static long Write(string family, string folder, string fixtures, bool withT5, ScalarType dtype, int? layers = null, int? singleLayers = null, string? packed = null)
        => family.StartsWith("flux-", StringComparison.Ordinal)
            ? WriteFlux(family == "flux-dev", folder, fixtures, dtype, layers, singleLayers, packed)
            : WriteSd3(family, folder, fixtures, withT5, dtype, layers, packed);

    /// <summary>The packed forms <see cref="Write"/> takes for the transformer.</summary>
    public static readonly string[] PackedForms = ["q8_0", "q4_k", "fp8"];


    private static long WriteSd3(string family, string folder, string fixtures, bool withT5, ScalarType dtype, int? layers, string? packed)
    {
        SD3TransformerConfig transformer = Transformer(family);
        if (layers is int depth)
        {
            transformer = transformer with { NumLayers = depth, DualAttentionLayers = [.. transformer.DualAttentionLayers.Where(l => l < depth)] };
        }

        var index = new Dictionary<string, object>
        {
            ["_class_name"] = "StableDiffusion3Pipeline",
            ["transformer"] = new[] { "diffusers", "SD3Transformer2DModel" }, ["vae"] = new[] { "diffusers", "AutoencoderKL" },
            ["scheduler"] = new[] { "diffusers", "FlowMatchEulerDiscreteScheduler" },
            ["text_encoder"] = new[] { "transformers", "CLIPTextModelWithProjection" }, ["text_encoder_2"] = new[] { "transformers", "CLIPTextModelWithProjection" },
            ["tokenizer"] = new[] { "transformers", "CLIPTokenizer" }, ["tokenizer_2"] = new[] { "transformers", "CLIPTokenizer" },
        };
        if (withT5)
        {
            index["text_encoder_3"] = new[] { "transformers", "T5EncoderModel" };
            index["tokenizer_3"] = new[] { "transformers", "T5TokenizerFast" };
        }

        WriteJson(Path.Combine(folder, "model_index.json"), index);
        WriteJson(Path.Combine(folder, "scheduler", "scheduler_config.json"), new Dictionary<string, object> { ["_class_name"] = "FlowMatchEulerDiscreteScheduler", ["num_train_timesteps"] = 1000, ["shift"] = 3.0 });
        long bytes = 0;
        bytes += Component(folder, "transformer", transformer.ToJson(), "diffusion_pytorch_model.safetensors", () => new SD3Transformer2DModel(transformer), dtype, packed: packed);
        bytes += Vae(folder, 1.5305, 0.0609, dtype);
        bytes += Component(folder, "text_encoder", ClipJson(768, 3072, 12, 12, 768, "quick_gelu"), "model.safetensors",
            () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json"))), dtype);
        bytes += Component(folder, "text_encoder_2", ClipJson(1280, 5120, 32, 20, 1280, "gelu"), "model.safetensors",
            () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder_2", "config.json"))), dtype);
        if (withT5)
        {
            bytes += T5(folder, "text_encoder_3", "tokenizer_3", fixtures, dtype);
        }

        ClipTokenizer(fixtures, Path.Combine(folder, "tokenizer"));
        ClipTokenizer(fixtures, Path.Combine(folder, "tokenizer_2"));
        return bytes;
    }

    /// <summary>
    /// FLUX.1-dev (or schnell): the transformer (19 double + 38 single blocks, hidden 3072; dev with its guidance embedding),
    /// CLIP-L as <c>CLIPTextModel</c> (no projection), T5-XXL, the 16-channel VAE, and the repository's scheduler config.
    /// </summary>
    private static long WriteFlux(bool dev, string folder, string fixtures, ScalarType dtype, int? layers, int? singleLayers, string? packed)
    {
        var defaults = new FluxTransformerConfig();
        var transformer = new FluxTransformerConfig { GuidanceEmbeds = dev, NumLayers = layers ?? defaults.NumLayers, NumSingleLayers = singleLayers ?? defaults.NumSingleLayers };
        var index = new Dictionary<string, object>
        {
            ["_class_name"] = "FluxPipeline",
            ["transformer"] = new[] { "diffusers", "FluxTransformer2DModel" }, ["vae"] = new[] { "diffusers", "AutoencoderKL" },
            ["scheduler"] = new[] { "diffusers", "FlowMatchEulerDiscreteScheduler" },
            ["text_encoder"] = new[] { "transformers", "CLIPTextModel" }, ["text_encoder_2"] = new[] { "transformers", "T5EncoderModel" },
            ["tokenizer"] = new[] { "transformers", "CLIPTokenizer" }, ["tokenizer_2"] = new[] { "transformers", "T5TokenizerFast" },
        };
        WriteJson(Path.Combine(folder, "model_index.json"), index);
        FlowMatchEulerDiscreteSchedulerConfig scheduler = FluxSchedule.StandardConfig(dev);
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(folder, "scheduler")).FullName, "scheduler_config.json"), scheduler.ToJson());
        long bytes = 0;
        bytes += Component(folder, "transformer", transformer.ToJson(), "diffusion_pytorch_model.safetensors", () => new FluxTransformer2DModel(transformer), dtype, packed: packed);
        bytes += Vae(folder, 0.3611, 0.1159, dtype);
        bytes += Component(folder, "text_encoder", ClipJson(768, 3072, 12, 12, 768, "quick_gelu"), "model.safetensors",
            () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json"))), dtype,
            omit: key => key == "text_projection.weight");
        bytes += T5(folder, "text_encoder_2", "tokenizer_2", fixtures, dtype);
        ClipTokenizer(fixtures, Path.Combine(folder, "tokenizer"));
        return bytes;
    }

    private static long Vae(string folder, double scaling, double shift, ScalarType dtype) =>
        Component(folder, "vae", JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_class_name"] = "AutoencoderKL", ["in_channels"] = 3, ["out_channels"] = 3, ["latent_channels"] = 16, ["block_out_channels"] = VaeBlocks,
            ["layers_per_block"] = 2, ["norm_num_groups"] = 32, ["act_fn"] = "silu", ["scaling_factor"] = scaling, ["shift_factor"] = shift,
            ["use_quant_conv"] = false, ["use_post_quant_conv"] = false, ["sample_size"] = 1024,
            ["down_block_types"] = Enumerable.Repeat("DownEncoderBlock2D", 4), ["up_block_types"] = Enumerable.Repeat("UpDecoderBlock2D", 4),
        }), "diffusion_pytorch_model.safetensors", () => new AutoencoderKL(AutoencoderKLConfig.Load(Path.Combine(folder, "vae", "config.json"))), dtype);

    /// <summary>T5-XXL (SD3's and FLUX.1's: 24 layers, d_model 4096) and a stand-in SentencePiece tokenizer from the fixtures.</summary>
    private static long T5(string folder, string component, string tokenizer, string fixtures, ScalarType dtype)
    {
        long bytes = Component(folder, component, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["vocab_size"] = 32128, ["d_model"] = 4096, ["d_kv"] = 64, ["d_ff"] = 10240, ["num_layers"] = 24, ["num_heads"] = 64,
            ["relative_attention_num_buckets"] = 32, ["relative_attention_max_distance"] = 128, ["feed_forward_proj"] = "gated-gelu",
            ["dense_act_fn"] = "gelu_new", ["layer_norm_epsilon"] = 1e-6,
        }), "model.safetensors", () => new T5EncoderModel(T5Config.Load(Path.Combine(folder, component, "config.json"))), dtype);
        string target = Path.Combine(folder, tokenizer);
        Directory.CreateDirectory(target);
        File.Copy(Path.Combine(fixtures, "tokenizers", "t5_spm", "test_sentencepiece.model"), Path.Combine(target, "spiece.model"), overwrite: true);
        WriteJson(Path.Combine(target, "tokenizer_config.json"), new Dictionary<string, object> { ["eos_token"] = "</s>", ["pad_token"] = "<unk>" });
        return bytes;
    }

    /// <summary>The real CLIP vocabulary and merges from the fixtures (gunzipped) into <paramref name="target"/>.</summary>
    private static void ClipTokenizer(string fixtures, string target)
    {
        string source = Path.Combine(fixtures, "tokenizers", "clip_bpe", Path.GetFileName(target) == "tokenizer_2" && Directory.Exists(Path.Combine(fixtures, "tokenizers", "clip_bpe", "tokenizer_2")) ? "tokenizer_2" : "tokenizer");
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source))
        {
            if (file.EndsWith(".gz", StringComparison.Ordinal))
            {
                using var input = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
                using var output = File.Create(Path.Combine(target, Path.GetFileNameWithoutExtension(file)));
                input.CopyTo(output);
            }
            else
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
            }
        }
    }

    private static string ClipJson(int hidden, int intermediate, int layers, int heads, int projection, string act) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["vocab_size"] = 49408, ["hidden_size"] = hidden, ["intermediate_size"] = intermediate, ["num_hidden_layers"] = layers, ["num_attention_heads"] = heads,
        ["projection_dim"] = projection, ["max_position_embeddings"] = 77, ["hidden_act"] = act, ["eos_token_id"] = 2,
    });

    /// <summary>Writes <c>config.json</c>, then a sparse all-zero safetensors file with the module's keys and shapes.</summary>
    private static long Component(string folder, string name, string config, string file, Func<nn.Module> build, ScalarType dtype, Func<string, bool>? omit = null, string? packed = null)
    {
        string dir = Path.Combine(folder, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config);
        Device previous = get_default_device();
        set_default_device(META);
        List<(string Key, long[] Shape)> entries;
        try
        {
            using nn.Module module = build();
            entries = module.state_dict().Where(kv => omit?.Invoke(kv.Key) != true).Select(kv => (kv.Key, kv.Value.shape)).ToList();
        }
        finally
        {
            set_default_device(previous);
        }

        string path = Path.Combine(dir, file);
        return packed switch
        {
            "fp8" => SyntheticCheckpoint.WriteSafetensors(path, entries, "F8_E4M3"),
            "q8_0" or "q4_k" => SyntheticCheckpoint.WriteGguf(Path.ChangeExtension(path, ".gguf"), entries,
                packed == "q8_0" ? GgufTensorType.Q8_0 : GgufTensorType.Q4_K, config.Contains("FluxTransformer2DModel", StringComparison.Ordinal) ? "flux" : "sd3"),
            _ => SyntheticCheckpoint.WriteSafetensors(path, entries, DTypeName(dtype), DTypeName(dtype)),
        };
    }

    private static string DTypeName(ScalarType dtype) => dtype switch { ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16", _ => "F32" };

    private static void WriteJson(string path, object value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(value));
    }
}

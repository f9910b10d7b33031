using Ras.IO.Safetensors;
using Ras.Models.Clip;
using Ras.Models.Flux;
using Ras.Models.T5;
using Ras.Models.Vae;
using Ras.Tokenizers;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// A complete diffusers-layout <c>FluxPipeline</c> folder with tiny random weights and the real file, key and config names:
/// CLIP-L as <c>CLIPTextModel</c> (no <c>text_projection</c> in its weights), T5 over the stand-in SentencePiece model, a 2×
/// 4-channel VAE with Flux's scaling and shift factors, the dev (or schnell) scheduler config and a tiny transformer; and the
/// same weights as single files in Black Forest Labs' layout (bare, or ComfyUI's prefixed all-in-one form).
/// </summary>
public static class TinyFluxPipelines
{
    public const int ClipHidden = 8;
    public const int T5Width = 12;

    /// <summary>The transformer over these encoders: joint width = T5's, pooled = CLIP's hidden size, 4 × 4 packed channels.</summary>
    public static FluxTransformerConfig TransformerConfig(bool dev = true) =>
        FluxTinyModels.Config(guidance: dev) with { JointAttentionDim = T5Width, PooledProjectionDim = ClipHidden, InChannels = 16, OutChannels = 16 };

    public static AutoencoderKLConfig VaeConfig => new()
    {
        InChannels = 3, OutChannels = 3, LatentChannels = 4, BlockOutChannels = [32, 32], LayersPerBlock = 1, NormNumGroups = 32,
        ScalingFactor = 0.3611, ShiftFactor = 0.1159, UseQuantConv = false, UsePostQuantConv = false,
    };

    /// <summary>CLIP-L's width in the standard-vocabulary variant: one 64-wide head, as the standard config infers from shapes.</summary>
    public const int StandardClipHidden = 64;

    /// <summary>
    /// Writes the pipeline (FLUX.1-dev style when <paramref name="dev"/>, else schnell) into <paramref name="folder"/>. With
    /// <paramref name="standardTokenizers"/> the tokenizers are the library's built-in CLIP-L and T5 and the encoders have their
    /// real vocabularies and the settings the standard configs assume (64-wide CLIP heads, T5's 32 buckets up to distance 128),
    /// so the same encoder files also run with no folder at all; the transformer then has FLUX.1's head width and RoPE axes.
    /// </summary>
    public static string Write(string folder, bool dev = true, bool standardTokenizers = false)
    {
        TinyPipelineFolder.ModelIndex(folder, "FluxPipeline", new Dictionary<string, (string, string)>
        {
            ["transformer"] = ("diffusers", "FluxTransformer2DModel"), ["vae"] = ("diffusers", "AutoencoderKL"),
            ["scheduler"] = ("diffusers", "FlowMatchEulerDiscreteScheduler"), ["text_encoder"] = ("transformers", "CLIPTextModel"),
            ["text_encoder_2"] = ("transformers", "T5EncoderModel"), ["tokenizer"] = ("transformers", "CLIPTokenizer"),
            ["tokenizer_2"] = ("transformers", "T5TokenizerFast"),
        });
        int vocabSize;
        if (standardTokenizers)
        {
            CopyFolder(BuiltInTokenizers.Folder(BuiltInTokenizer.ClipL), Path.Combine(folder, "tokenizer"));
            CopyFolder(BuiltInTokenizers.Folder(BuiltInTokenizer.T5), Path.Combine(folder, "tokenizer_2"));
            vocabSize = 49408;
        }
        else
        {
            vocabSize = TinyPipelineFolder.ClipTokenizer(Path.Combine(folder, "tokenizer"), "<|endoftext|>");
            TinyPipelineFolder.T5Tokenizer(Path.Combine(folder, "tokenizer_2"));
        }

        int clipHidden = standardTokenizers ? StandardClipHidden : ClipHidden;
        FluxTransformerConfig transformer = TransformerConfig(dev) with { PooledProjectionDim = clipHidden };
        if (standardTokenizers)
        {
            // A single file carries no RoPE axes: the standard ones (16, 56, 56) need FLUX.1's head width, 128.
            transformer = transformer with { AttentionHeadDim = 128, NumAttentionHeads = 1, AxesDimsRope = [16, 56, 56] };
        }
        TinyPipelineFolder.Write(folder, "transformer", transformer.ToJson(), "diffusion_pytorch_model.safetensors", () => FluxTinyModels.Model(transformer, seed: 11));
        TinyPipelineFolder.Scheduler(folder, new Dictionary<string, object>
        {
            ["num_train_timesteps"] = 1000, ["shift"] = dev ? 3.0 : 1.0, ["use_dynamic_shifting"] = dev, ["base_shift"] = 0.5, ["max_shift"] = 1.15,
            ["base_image_seq_len"] = 256, ["max_image_seq_len"] = 4096,
        });
        TinyPipelineFolder.Write(folder, "vae", TinyPipelineFolder.VaeJson(VaeConfig, 32), "diffusion_pytorch_model.safetensors",
            () => TinyPipelineFolder.Seeded(4, () => new AutoencoderKL(VaeConfig)));

        // diffusers' text_encoder is a CLIPTextModel: the same weights as ours, without text_projection.
        TinyPipelineFolder.Write(folder, "text_encoder", TinyPipelineFolder.ClipJson(vocabSize, clipHidden, standardTokenizers ? 1 : 2, clipHidden, "quick_gelu", "CLIPTextModel",
            heads: standardTokenizers ? 1 : 2), "model.safetensors",
            () => TinyPipelineFolder.Perturbed(5, () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json")))),
            omit: key => key == "text_projection.weight");
        TinyPipelineFolder.Write(folder, "text_encoder_2", TinyPipelineFolder.T5Json(T5Width, standardTokenizers), "model.safetensors",
            () => TinyPipelineFolder.Perturbed(7, () => new T5EncoderModel(T5Config.Load(Path.Combine(folder, "text_encoder_2", "config.json")))));
        return folder;
    }

    /// <summary>
    /// Writes <paramref name="source"/>'s transformer in BFL's layout to <paramref name="path"/>: bare (<paramref name="allInOne"/> false,
    /// as BFL's <c>flux1-dev.safetensors</c>), or under <c>model.diffusion_model.</c> with CLIP-L and T5 under
    /// <c>text_encoders.{clip_l,t5xxl}.transformer.</c> and the VAE in BFL's <c>ae.safetensors</c> layout under <c>vae.</c>.
    /// </summary>
    public static string WriteSingleFile(string source, string path, bool allInOne)
    {
        using var scope = NewDisposeScope();
        var file = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (var transformer = FluxTransformer2DModel.FromPretrained(Path.Combine(source, "transformer")))
        {
            foreach (var (key, value) in BflLayout.Tensors(transformer))
            {
                file[(allInOne ? FluxSingleFileConverter.Prefix : string.Empty) + key] = value.contiguous();
            }
        }

        if (allInOne)
        {
            Merge(file, Path.Combine(source, "text_encoder", "model.safetensors"), "text_encoders.clip_l.transformer.");
            Merge(file, Path.Combine(source, "text_encoder_2", "model.safetensors"), "text_encoders.t5xxl.transformer.");
            using var temp = new TempDirectory();
            WriteAe(source, temp.File("ae.safetensors"));
            Merge(file, temp.File("ae.safetensors"), "vae.");
        }

        SafetensorsWriter.Write(path, file);
        return path;
    }

    /// <summary>Writes <paramref name="source"/>'s VAE in BFL's <c>ae.safetensors</c> layout (the LDM layout, no prefix).</summary>
    public static string WriteAe(string source, string path)
    {
        using var vae = AutoencoderKL.FromPretrained(Path.Combine(source, "vae"));
        ForeignLayout.Write(path, vae.state_dict(), s => VaeLdmConverter.Convert(s, vae.Config, prefix: string.Empty), _ => true);
        return path;
    }

    private static void CopyFolder(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
    }

    private static void Merge(Dictionary<string, Tensor> into, string file, string prefix)
    {
        using var source = SafetensorsFile.Open(file);
        foreach (string key in source.Entries.Keys)
        {
            into[prefix + key] = source.Read(key);
        }
    }
}

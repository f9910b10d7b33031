using Ras.Models.Clip;
using Ras.Models.SD3;
using Ras.Models.T5;
using Ras.Models.Vae;
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
        var components = new Dictionary<string, (string, string)>
        {
            ["transformer"] = ("diffusers", "SD3Transformer2DModel"), ["vae"] = ("diffusers", "AutoencoderKL"),
            ["scheduler"] = ("diffusers", "FlowMatchEulerDiscreteScheduler"), ["text_encoder"] = ("transformers", "CLIPTextModelWithProjection"),
            ["text_encoder_2"] = ("transformers", "CLIPTextModelWithProjection"), ["tokenizer"] = ("transformers", "CLIPTokenizer"),
            ["tokenizer_2"] = ("transformers", "CLIPTokenizer"),
        };
        if (withT5)
        {
            components["text_encoder_3"] = ("transformers", "T5EncoderModel");
            components["tokenizer_3"] = ("transformers", "T5TokenizerFast");
        }

        TinyPipelineFolder.ModelIndex(folder, "StableDiffusion3Pipeline", components);
        int vocabSize = TinyPipelineFolder.ClipTokenizer(Path.Combine(folder, "tokenizer"), "<|endoftext|>");
        TinyPipelineFolder.ClipTokenizer(Path.Combine(folder, "tokenizer_2"), "!");

        int clipLProjection = identityClipLProjection ? ClipLHidden : ClipLProjection;
        SD3TransformerConfig transformer = TransformerConfig with { PooledProjectionDim = clipLProjection + ClipGProjection };
        TinyPipelineFolder.Write(folder, "transformer", transformer.ToJson(), "diffusion_pytorch_model.safetensors", () => TinyModels.Model(transformer));
        TinyPipelineFolder.Scheduler(folder, new Dictionary<string, object> { ["num_train_timesteps"] = 1000, ["shift"] = 3.0 });
        TinyPipelineFolder.Write(folder, "vae", TinyPipelineFolder.VaeJson(VaeConfig, 32), "diffusion_pytorch_model.safetensors",
            () => TinyPipelineFolder.Seeded(4, () => new AutoencoderKL(VaeConfig)));
        TinyPipelineFolder.Write(folder, "text_encoder", TinyPipelineFolder.ClipJson(vocabSize, ClipLHidden, 2, clipLProjection, "quick_gelu"), "model.safetensors", () =>
        {
            var clipL = TinyPipelineFolder.Seeded(5, () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder", "config.json"))));
            if (identityClipLProjection)
            {
                using var noGrad = no_grad();
                clipL.state_dict()["text_projection.weight"].copy_(eye(ClipLHidden));
            }

            return clipL;
        });
        TinyPipelineFolder.Write(folder, "text_encoder_2", TinyPipelineFolder.ClipJson(vocabSize, ClipGHidden, 3, ClipGProjection, "gelu"), "model.safetensors",
            () => TinyPipelineFolder.Seeded(6, () => new CLIPTextModelWithProjection(CLIPTextConfig.Load(Path.Combine(folder, "text_encoder_2", "config.json")))));
        if (withT5)
        {
            TinyPipelineFolder.T5Tokenizer(Path.Combine(folder, "tokenizer_3"));
            TinyPipelineFolder.Write(folder, "text_encoder_3", TinyPipelineFolder.T5Json(ClipLHidden + ClipGHidden), "model.safetensors",
                () => TinyPipelineFolder.Seeded(7, () => new T5EncoderModel(T5Config.Load(Path.Combine(folder, "text_encoder_3", "config.json")))));
        }

        return folder;
    }
}

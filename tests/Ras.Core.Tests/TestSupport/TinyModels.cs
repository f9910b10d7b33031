using Ras.IO.Safetensors;
using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Pipelines.SD3;
using Ras.Sampling;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>Small random-weight SD3 models and inputs for invariant tests (seconds on CPU).</summary>
public static class TinyModels
{
    public static SD3TransformerConfig Config(int patch = 2, int layers = 2, QkNorm qkNorm = QkNorm.None, int[]? dual = null) => new()
    {
        SampleSize = 16, PatchSize = patch, InChannels = 4, OutChannels = 4, NumLayers = layers, AttentionHeadDim = 8,
        NumAttentionHeads = 2, JointAttentionDim = 12, CaptionProjectionDim = 16, PooledProjectionDim = 10,
        PosEmbedMaxSize = 32, DualAttentionLayers = dual ?? [], QkNorm = qkNorm,
    };

    public static SD3Transformer2DModel Model(SD3TransformerConfig config, int seed = 1)
    {
        manual_seed(seed);
        var model = new SD3Transformer2DModel(config);
        model.eval();

        // Random biases and adaLN weights so no path is trivially zero.
        using var noGrad = no_grad();
        foreach (var (_, parameter) in model.named_parameters())
        {
            parameter.add_(randn_like(parameter).mul(0.05));
        }

        return model;
    }

    /// <summary>Prompt embeddings for <paramref name="batch"/> images (and negatives), deterministic by seed.</summary>
    public static SD3Conditioning Conditioning(SD3TransformerConfig config, int batch, bool guidance, int seed = 7, int textTokens = 5)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed);
        Tensor text = randn([batch, textTokens, config.JointAttentionDim], generator: generator);
        Tensor pooled = randn([batch, config.PooledProjectionDim], generator: generator);
        Tensor negText = randn([batch, textTokens, config.JointAttentionDim], generator: generator);
        Tensor negPooled = randn([batch, config.PooledProjectionDim], generator: generator);
        return SD3Conditioning.Create(text, pooled, guidance ? negText : null, guidance ? negPooled : null, batch, guidance);
    }

    public static Tensor Latents(SD3TransformerConfig config, int batch, int height, int width, int seed = 3) =>
        InitialNoise.Draw([batch, config.InChannels, height, width], seed);

    /// <summary>
    /// Writes a diffusers-layout pipeline folder (<c>transformer/</c>, <c>scheduler/</c>) with a tiny random model,
    /// plus <c>inputs.safetensors</c> (prompt and negative embeddings, latents [1, 4, 16, 16]) for <c>ras denoise</c>.
    /// </summary>
    public static string WriteSd3Folder(string folder)
    {
        var config = Config();
        Directory.CreateDirectory(Path.Combine(folder, "transformer"));
        Directory.CreateDirectory(Path.Combine(folder, "scheduler"));
        File.WriteAllText(Path.Combine(folder, "transformer", "config.json"), config.ToJson());
        File.WriteAllText(Path.Combine(folder, "scheduler", "scheduler_config.json"), new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 }.ToJson());
        using (var model = Model(config))
        {
            SafetensorsWriter.Write(Path.Combine(folder, "transformer", "diffusion_pytorch_model.safetensors"), model.state_dict());
        }

        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        SafetensorsWriter.Write(Path.Combine(folder, "inputs.safetensors"), new Dictionary<string, Tensor>
        {
            ["prompt_embeds"] = randn([1, 5, config.JointAttentionDim], generator: generator),
            ["pooled_prompt_embeds"] = randn([1, config.PooledProjectionDim], generator: generator),
            ["negative_prompt_embeds"] = randn([1, 5, config.JointAttentionDim], generator: generator),
            ["negative_pooled_prompt_embeds"] = randn([1, config.PooledProjectionDim], generator: generator),
            ["latents"] = randn([1, config.InChannels, 16, 16], generator: generator),
        });
        return folder;
    }
}

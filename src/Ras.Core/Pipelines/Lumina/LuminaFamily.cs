using Ras.IO.Checkpoints;
using Ras.Models.Lumina;
using static TorchSharp.torch;

namespace Ras.Pipelines.Lumina;

/// <summary>Lumina-Next (<c>LuminaNextDiT2DModel</c> with Gemma and the SDXL VAE): diffusers folders.</summary>
public sealed class LuminaFamily : ModelFamily
{
    private LuminaFamily()
    {
    }

    /// <summary>The one instance (listed in <see cref="ModelFamilies"/>).</summary>
    public static LuminaFamily Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => "Lumina-Next";

    /// <inheritdoc />
    public override IReadOnlyList<string> PipelineClassNames { get; } = [LuminaPipelineSource.ClassName];

    /// <inheritdoc />
    public override string? TransformerClassName => LuminaNextDiT2DModelConfig.ClassName;

    /// <inheritdoc />
    public override Type? ExtrasType => typeof(LuminaSamplingOptions);

    /// <inheritdoc />
    public override IReadOnlyList<SyntheticModel> SyntheticModels { get; } =
    [
        new("lumina-next", "Lumina-Next-SFT's widths: hidden 2304, 32 heads, 8 KV heads, caption dim 2048, patch 2, 4 channels", 24, null,
            (layers, _, device) => LuminaDenoisingTransformer.Synthetic(layers, device)),
    ];

    /// <inheritdoc />
    public override ITextToImagePipeline OpenFolder(string folder, PipelineOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.RequireNoComponentFiles(Name);
        return LuminaText2ImgPipeline.Open(folder, options.Device, options.Storage);
    }

    /// <inheritdoc />
    public override DenoisingTransformer LoadTransformer(string transformerFolder, Device device, FamilyExtras? extras = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        LuminaSamplingOptions options = FamilyExtras.Expect<LuminaSamplingOptions>(extras, Name) ?? new LuminaSamplingOptions();
        options.Validate();
        return new LuminaDenoisingTransformer(LuminaNextDiT2DModel.FromPretrained(transformerFolder, device, storage), options);
    }

    /// <inheritdoc />
    public override IEnumerable<(string Label, string Text)> DescribeTransformer(string configPath, int pixelsPerLatent)
    {
        var config = LuminaNextDiT2DModelConfig.Load(configPath);
        return
        [
            ("class", LuminaNextDiT2DModelConfig.ClassName),
            ("architecture", $"{config.NumLayers} blocks, {config.NumAttentionHeads} heads × {config.HeadDim} = {config.HiddenSize} wide ({config.KvHeads} kv heads), feed-forward {config.FeedForwardDim}, patch {config.PatchSize}"),
            ("variant", $"qk_norm {(config.QkNorm ? "layer_norm" : "none")}; learn_sigma {(config.LearnSigma ? "true" : "false")}; 2-D RoPE, gated caption cross-attention"),
            ("channels", $"in {config.InChannels}, out {config.OutChannels}; caption {config.CrossAttentionDim}"),
            ("positions", $"2-D RoPE (any size); native {config.SampleSize * pixelsPerLatent} px"),
        ];
    }
}

using System.Globalization;
using Ras.IO.Checkpoints;
using Ras.Models.SD3;
using static TorchSharp.torch;

namespace Ras.Pipelines.SD3;

/// <summary>Stable Diffusion 3 / 3.5 (MMDiT, MMDiT-X): diffusers folders and Stability single files.</summary>
public sealed class SD3Family : ModelFamily
{
    private SD3Family()
    {
    }

    /// <summary>The one instance (listed in <see cref="ModelFamilies"/>).</summary>
    public static SD3Family Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => "SD3";

    /// <inheritdoc />
    public override IReadOnlyList<string> PipelineClassNames { get; } = [SD3PipelineSource.ClassName, "StableDiffusion3Img2ImgPipeline"];

    /// <inheritdoc />
    public override string? TransformerClassName => SD3TransformerConfig.ClassName;

    /// <inheritdoc />
    public override Type? ExtrasType => typeof(SD3Extras);

    /// <summary><c>pos_embed.pos_embed</c>: the <c>[1, M·M, D]</c> sin-cos position table, a persistent buffer (diffusers' <c>PatchEmbed</c>).</summary>
    public override IReadOnlyList<string> TransformerBufferKeys { get; } = ["pos_embed.pos_embed"];

    /// <inheritdoc />
    public override string? SingleFileLayout => $"{SD3SingleFileConverter.Prefix}joint_blocks.N.x_block.attn.qkv.weight …";

    /// <inheritdoc />
    public override IReadOnlyList<SyntheticModel> SyntheticModels { get; } =
    [
        new("sd3-medium", "SD3-medium's widths: hidden 1536, 24 heads × 64, joint dim 4096, pooled 2048, patch 2", 24, null,
            (layers, _, device) => SD3DenoisingTransformer.Synthetic(layers, device)),
    ];

    /// <inheritdoc />
    public override bool MatchesSingleFile(TensorStore file) => SD3SingleFileConverter.Matches(file);

    /// <inheritdoc />
    public override ITextToImagePipeline OpenFolder(string folder, PipelineOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return StableDiffusion3Pipeline.Open(folder, null, options.Device, options.Storage, options.Components);
    }

    /// <inheritdoc />
    public override ITextToImagePipeline OpenSingleFile(string path, PipelineOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return StableDiffusion3Pipeline.Open(path, options.ConfigFolder, options.Device, options.Storage, options.Components);
    }

    /// <inheritdoc />
    public override DenoisingTransformer LoadTransformer(string transformerFolder, Device device, FamilyExtras? extras = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        FamilyExtras.Expect<SD3Extras>(extras, Name);
        return new SD3DenoisingTransformer(SD3Transformer2DModel.FromPretrained(transformerFolder, device, storage));
    }

    /// <inheritdoc />
    public override IEnumerable<(string Label, string Text)> DescribeTransformer(string configPath, int pixelsPerLatent)
    {
        var config = SD3TransformerConfig.Load(configPath);
        return
        [
            ("class", SD3TransformerConfig.ClassName),
            ("architecture", $"{config.NumLayers} joint blocks, {config.NumAttentionHeads} heads × {config.AttentionHeadDim} = {config.InnerDim} wide, patch {config.PatchSize}"),
            ("variant", $"qk_norm {config.QkNorm}; dual-attention layers [{string.Join(",", config.DualAttentionLayers)}]"),
            ("channels", $"in {config.InChannels}, out {config.OutChannels}; text {config.JointAttentionDim} → {config.CaptionProjectionDim}, pooled {config.PooledProjectionDim}"),
            ("positions", string.Create(CultureInfo.InvariantCulture,
                $"table {config.PosEmbedMaxSize}×{config.PosEmbedMaxSize} patches (max {config.PosEmbedMaxSize * config.PatchSize * pixelsPerLatent} px); native {config.SampleSize * pixelsPerLatent} px")),
        ];
    }
}

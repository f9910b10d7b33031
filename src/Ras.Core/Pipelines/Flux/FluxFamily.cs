using System.Globalization;
using Ras.IO.Checkpoints;
using Ras.Models.Flux;
using static TorchSharp.torch;

namespace Ras.Pipelines.Flux;

/// <summary>FLUX.1 dev and schnell: diffusers folders and Black Forest Labs' / ComfyUI's single files.</summary>
public sealed class FluxFamily : ModelFamily
{
    private FluxFamily()
    {
    }

    /// <summary>The one instance (listed in <see cref="ModelFamilies"/>).</summary>
    public static FluxFamily Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => "FLUX.1";

    /// <inheritdoc />
    public override IReadOnlyList<string> PipelineClassNames { get; } = [FluxPipelineSource.ClassName, "FluxImg2ImgPipeline"];

    /// <inheritdoc />
    public override string? TransformerClassName => FluxTransformerConfig.ClassName;

    /// <inheritdoc />
    public override Type? ExtrasType => typeof(FluxExtras);

    /// <inheritdoc />
    public override string? SingleFileLayout => "[model.diffusion_model.]double_blocks.N.img_attn.qkv.weight …";

    /// <inheritdoc />
    public override IReadOnlyList<SyntheticModel> SyntheticModels { get; } =
    [
        new("flux-dev", "FLUX.1-dev's widths: hidden 3072, 24 heads × 128, RoPE axes 16/56/56, joint dim 4096, pooled 768, guidance embedding; --layers double-stream, --single-layers single-stream blocks",
            19, 38, (layers, single, device) => FluxDenoisingTransformer.Synthetic(layers, single ?? 38, device)),
    ];

    /// <inheritdoc />
    public override bool MatchesSingleFile(TensorStore file) => FluxSingleFileConverter.Matches(file);

    /// <inheritdoc />
    public override ITextToImagePipeline OpenFolder(string folder, PipelineOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return FluxPipeline.Open(folder, null, options.Device, options.Storage, options.Components);
    }

    /// <inheritdoc />
    public override ITextToImagePipeline OpenSingleFile(string path, PipelineOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return FluxPipeline.Open(path, options.ConfigFolder, options.Device, options.Storage, options.Components);
    }

    /// <inheritdoc />
    public override DenoisingTransformer LoadTransformer(string transformerFolder, Device device, FamilyExtras? extras = null, WeightStorage storage = WeightStorage.FullPrecision)
    {
        FamilyExtras.Expect<FluxExtras>(extras, Name);
        return new FluxDenoisingTransformer(FluxTransformer2DModel.FromPretrained(transformerFolder, device, storage));
    }

    /// <inheritdoc />
    public override IEnumerable<(string Label, string Text)> DescribeTransformer(string configPath, int pixelsPerLatent)
    {
        var config = FluxTransformerConfig.Load(configPath);
        return
        [
            ("class", FluxTransformerConfig.ClassName),
            ("architecture", $"{config.NumLayers} double-stream + {config.NumSingleLayers} single-stream blocks, {config.NumAttentionHeads} heads × {config.AttentionHeadDim} = {config.InnerDim} wide, MLP {config.MlpHiddenDim}"),
            ("variant", config.GuidanceEmbeds ? "guidance embedding (FLUX.1-dev style: --guidance is an input of the model)" : "no guidance embedding (FLUX.1-schnell style)"),
            ("channels", $"in {config.InChannels} (= 4 × {config.InChannels / 4} latent channels, 2×2 packed), out {config.OutChannels}; text {config.JointAttentionDim}, pooled {config.PooledProjectionDim}"),
            ("positions", string.Create(CultureInfo.InvariantCulture, $"3-axis RoPE [{string.Join(", ", config.AxesDimsRope)}] over (0, row, col) (any size); native {FluxPipeline.DefaultSampleSize * pixelsPerLatent} px")),
        ];
    }
}

using Ras.IO.Checkpoints;
using Ras.Pipelines.SD3;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>The built-in ras-shapes model: SD3's transformer in pixel space with a word-level text encoder.</summary>
public sealed class ShapesFamily : ModelFamily
{
    private ShapesFamily()
    {
    }

    /// <summary>The one instance (listed in <see cref="ModelFamilies"/>).</summary>
    public static ShapesFamily Instance { get; } = new();

    /// <inheritdoc />
    public override string Name => "ras-shapes";

    /// <inheritdoc />
    public override IReadOnlyList<string> PipelineClassNames { get; } = [ShapesPipeline.ClassName];

    /// <summary>None of its own: its transformer is an <c>SD3Transformer2DModel</c>.</summary>
    public override string? TransformerClassName => null;

    /// <inheritdoc />
    public override bool PixelSpace => true;

    /// <inheritdoc />
    public override ITextToImagePipeline OpenFolder(string folder, PipelineOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.RequireNoComponentFiles(Name);
        return ShapesPipeline.Load(folder, options.Device);
    }

    /// <inheritdoc />
    public override DenoisingTransformer LoadTransformer(string transformerFolder, Device device, FamilyExtras? extras = null, WeightStorage storage = WeightStorage.FullPrecision) =>
        SD3Family.Instance.LoadTransformer(transformerFolder, device, extras, storage);

    /// <inheritdoc />
    public override IEnumerable<(string Label, string Text)> DescribeTransformer(string configPath, int pixelsPerLatent) =>
        SD3Family.Instance.DescribeTransformer(configPath, pixelsPerLatent);
}

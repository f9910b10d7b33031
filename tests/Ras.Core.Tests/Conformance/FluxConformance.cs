using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Conformance;

/// <summary>
/// The conformance suite on FLUX.1: dev (embedded guidance) on square, non-square and odd packed grids, and schnell (no
/// guidance); RoPE rows gathered per token, image K/V cached in every double- and single-stream block.
/// </summary>
public class FluxConformance : DenoiserConformance
{
    protected override IReadOnlyList<TinyVariant> Variants { get; } =
    [
        new("dev", () => Tiny(FluxTinyModels.Config()), [(12, 16), (16, 16), (10, 6)]),
        new("schnell", () => Tiny(FluxTinyModels.Config(guidance: false)), [(12, 10)]),
    ];

    /// <summary>Two double-stream and two single-stream blocks.</summary>
    protected override int CacheSlots => 4;

    /// <summary>FLUX.1-dev's embedded guidance.</summary>
    protected override double GuidanceScale => 3.5;

    internal static DenoisingTransformer Tiny(Ras.Models.Flux.FluxTransformerConfig config) => new FluxDenoisingTransformer(FluxTinyModels.Model(config));
}

/// <summary>The suite again with true CFG (a negative and a positive pass per image, sharing the image's regions).</summary>
public sealed class FluxTrueCfgConformance : FluxConformance
{
    protected override double? TrueCfgScale => 3.0;
}

[Collection(SerialCollection.Name)]
public sealed class FluxMemoryConformance : DenoiserMemoryConformance
{
    protected override DenoisingTransformer CreateTiny() => FluxConformance.Tiny(FluxTinyModels.Config());

    protected override (int Height, int Width) Grid => (12, 16);

    protected override double GuidanceScale => 3.5;
}

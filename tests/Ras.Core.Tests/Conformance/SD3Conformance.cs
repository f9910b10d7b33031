using Ras.Models.Common;
using Ras.Pipelines;
using Ras.Pipelines.SD3;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Conformance;

/// <summary>
/// The conformance suite on SD3: first an SD3.5-medium-like model (qk RMS-norm, an MMDiT-X block whose <c>attn2</c> has its own
/// cache), then plain MMDiT with patch 2, 1 and 4.
/// </summary>
public sealed class SD3Conformance : DenoiserConformance
{
    protected override IReadOnlyList<TinyVariant> Variants { get; } =
    [
        new("SD3.5 (qk norm, dual attention)", () => Tiny(TinyModels.Config(layers: 3, qkNorm: QkNorm.RmsNorm, dual: [0])), [(16, 16), (12, 20), (10, 6)]),
        new("patch 2", () => Tiny(TinyModels.Config()), [(16, 16), (12, 20)]),
        new("patch 1", () => Tiny(TinyModels.Config(patch: 1)), [(8, 8), (7, 5)]),
        new("patch 4", () => Tiny(TinyModels.Config(patch: 4)), [(16, 24)]),
    ];

    /// <summary>Three joint attentions and block 0's <c>attn2</c>.</summary>
    protected override int CacheSlots => 4;

    internal static DenoisingTransformer Tiny(Ras.Models.SD3.SD3TransformerConfig config) => new SD3DenoisingTransformer(TinyModels.Model(config));
}

[Collection(SerialCollection.Name)]
public sealed class SD3MemoryConformance : DenoiserMemoryConformance
{
    protected override DenoisingTransformer CreateTiny() => SD3Conformance.Tiny(TinyModels.Config());
}

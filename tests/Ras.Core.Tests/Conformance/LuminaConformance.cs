using Ras.Pipelines;
using Ras.Pipelines.Lumina;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Conformance;

/// <summary>The conformance suite on Lumina-Next (2-D RoPE rows gathered per token, GQA self-attention cached, captions never).</summary>
public sealed class LuminaConformance : DenoiserConformance
{
    protected override IReadOnlyList<TinyVariant> Variants { get; } =
    [
        new("patch 2", () => Tiny(LuminaTinyModels.Config()), [(16, 16), (12, 20), (10, 6)]),
        new("patch 1", () => Tiny(LuminaTinyModels.Config(patch: 1)), [(8, 6)]),
    ];

    /// <summary>Self-attention only: the caption cross-attention is never cached.</summary>
    protected override int CacheSlots => LuminaTinyModels.Config().NumLayers;

    internal static DenoisingTransformer Tiny(Ras.Models.Lumina.LuminaNextDiT2DModelConfig config) =>
        new LuminaDenoisingTransformer(LuminaTinyModels.Model(config), new LuminaSamplingOptions());

    /// <summary>Captions whose later images see fewer valid tokens, so masks matter.</summary>
    protected override Dictionary<string, Tensor> Conditioning(DenoisingTransformer transformer, int batch, bool negative)
    {
        Dictionary<string, Tensor> tensors = base.Conditioning(transformer, batch, negative);
        Tensor masks = tensors["prompt_attention_mask"];
        for (int b = 1; b < batch; b++)
        {
            using Tensor row = masks[b];
            using Tensor tail = row.narrow(0, masks.shape[1] - b, b);
            tail.fill_(0);
        }

        if (negative)
        {
            using Tensor tail = tensors["negative_prompt_attention_mask"].narrow(1, 2, masks.shape[1] - 2);
            tail.fill_(0);
        }

        return tensors;
    }
}

[Collection(SerialCollection.Name)]
public sealed class LuminaMemoryConformance : DenoiserMemoryConformance
{
    protected override DenoisingTransformer CreateTiny() => LuminaConformance.Tiny(LuminaTinyModels.Config());
}

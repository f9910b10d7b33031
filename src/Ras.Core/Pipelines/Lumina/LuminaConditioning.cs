using Ras.Errors;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Pipelines.Lumina;

/// <summary>
/// Lumina caption conditioning arranged as the model batch: <c>[positive × B, negative × B]</c> with guidance
/// (conditional first, as <see cref="SamplingConvention.LuminaNext"/> says), <c>[positive × B]</c> without. Captions of
/// batch 1 are broadcast to B images.
/// </summary>
public sealed class LuminaConditioning : IDisposable
{
    private LuminaConditioning(Tensor captions, Tensor masks, int copies)
    {
        Captions = captions;
        Masks = masks;
        GuidanceCopies = copies;
    }

    /// <summary><c>[B·copies, L, cross_attention_dim]</c> float32 caption features.</summary>
    public Tensor Captions { get; }

    /// <summary><c>[B·copies, L]</c> int64 caption masks (1 = valid token).</summary>
    public Tensor Masks { get; }

    /// <summary>2 with guidance, else 1.</summary>
    public int GuidanceCopies { get; }

    /// <summary>Arranges caption features and masks (and, with guidance, the negative ones) for <paramref name="batch"/> images.</summary>
    /// <exception cref="OptionsException">Shapes that do not fit together, a caption with no valid token, or guidance without negatives.</exception>
    public static LuminaConditioning Create(Tensor promptEmbeds, Tensor promptMask, Tensor? negativePromptEmbeds, Tensor? negativePromptMask,
        int batch, bool guidance)
    {
        ArgumentNullException.ThrowIfNull(promptEmbeds);
        ArgumentNullException.ThrowIfNull(promptMask);
        using var scope = NewDisposeScope();
        var (captions, masks) = Arrange(promptEmbeds, promptMask, batch, "prompt_embeds", "prompt_attention_mask");
        if (guidance)
        {
            if (negativePromptEmbeds is null || negativePromptMask is null)
            {
                throw new OptionsException("guidance", "guidance > 1 needs negative_prompt_embeds and negative_prompt_attention_mask");
            }

            var (negCaptions, negMasks) = Arrange(negativePromptEmbeds, negativePromptMask, batch, "negative_prompt_embeds", "negative_prompt_attention_mask");
            PromptBatch.RequireSameShape(negCaptions, "negative_prompt_embeds", captions, "prompt_embeds");
            captions = SamplingConvention.LuminaNext.GuidanceBatch(captions, negCaptions);
            masks = SamplingConvention.LuminaNext.GuidanceBatch(masks, negMasks);
        }

        // Owned by the returned object alone, never by a caller's dispose scope.
        return new LuminaConditioning(captions.contiguous().DetachFromDisposeScope(), masks.contiguous().DetachFromDisposeScope(), guidance ? 2 : 1);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Captions.Dispose();
        Masks.Dispose();
    }

    private static (Tensor Captions, Tensor Masks) Arrange(Tensor embeds, Tensor mask, int batch, string embedsName, string maskName)
    {
        Tensor captions = PromptBatch.Broadcast(embeds, batch, embedsName, 3, ScalarType.Float32);
        Tensor masks = PromptBatch.Broadcast(mask, batch, maskName, 2, ScalarType.Int64);
        if (masks.shape[1] != captions.shape[1])
        {
            throw new OptionsException(maskName, $"covers {masks.shape[1]} tokens but {embedsName} has {captions.shape[1]}");
        }

        // The caption is pooled by its masked mean: an all-zero mask would divide by zero.
        if (masks.ne(0).any(1).logical_not().any().item<bool>())
        {
            throw new OptionsException(maskName, "a caption has no valid token (all-zero mask)");
        }

        return (captions, masks);
    }
}

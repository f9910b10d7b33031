using Ras.Errors;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Pipelines.SD3;

/// <summary>
/// SD3 prompt conditioning arranged as the model batch: with guidance, positive and negative rows in
/// <see cref="SamplingConvention.StableDiffusion3"/>'s order (<c>[negative × B, positive × B]</c>), <c>[positive × B]</c> without. Embeddings of batch 1 are broadcast to B images.
/// </summary>
public sealed class SD3Conditioning : IDisposable
{
    private SD3Conditioning(Tensor encoderHiddenStates, Tensor pooled, int copies)
    {
        EncoderHiddenStates = encoderHiddenStates;
        PooledProjections = pooled;
        GuidanceCopies = copies;
    }

    /// <summary><c>[B·copies, L, joint_attention_dim]</c>.</summary>
    public Tensor EncoderHiddenStates { get; }

    /// <summary><c>[B·copies, pooled_projection_dim]</c>.</summary>
    public Tensor PooledProjections { get; }

    /// <summary>2 with guidance, else 1.</summary>
    public int GuidanceCopies { get; }

    /// <summary>Arranges prompt (and, with guidance, negative prompt) embeddings for <paramref name="batch"/> images.</summary>
    /// <exception cref="OptionsException">Shapes that do not fit together, or guidance without negatives.</exception>
    public static SD3Conditioning Create(Tensor promptEmbeds, Tensor pooledPromptEmbeds, Tensor? negativePromptEmbeds,
        Tensor? negativePooledPromptEmbeds, int batch, bool guidance)
    {
        ArgumentNullException.ThrowIfNull(promptEmbeds);
        ArgumentNullException.ThrowIfNull(pooledPromptEmbeds);
        using var scope = NewDisposeScope();
        Tensor text = PromptBatch.Broadcast(promptEmbeds, batch, "prompt_embeds", 3, ScalarType.Float32);
        Tensor pooled = PromptBatch.Broadcast(pooledPromptEmbeds, batch, "pooled_prompt_embeds", 2, ScalarType.Float32);
        if (guidance)
        {
            if (negativePromptEmbeds is null || negativePooledPromptEmbeds is null)
            {
                throw new OptionsException("guidance", "guidance > 1 needs negative_prompt_embeds and negative_pooled_prompt_embeds");
            }

            Tensor negText = PromptBatch.Broadcast(negativePromptEmbeds, batch, "negative_prompt_embeds", 3, ScalarType.Float32);
            Tensor negPooled = PromptBatch.Broadcast(negativePooledPromptEmbeds, batch, "negative_pooled_prompt_embeds", 2, ScalarType.Float32);
            PromptBatch.RequireSameShape(negText, "negative_prompt_embeds", text, "prompt_embeds");
            if (negPooled.shape[1] != pooled.shape[1])
            {
                throw new OptionsException("negative_pooled_prompt_embeds",
                    $"width {negPooled.shape[1]} does not match pooled_prompt_embeds width {pooled.shape[1]}");
            }

            text = SamplingConvention.StableDiffusion3.GuidanceBatch(text, negText);
            pooled = SamplingConvention.StableDiffusion3.GuidanceBatch(pooled, negPooled);
        }

        // Owned by the returned object alone, never by a caller's dispose scope.
        return new SD3Conditioning(text.contiguous().DetachFromDisposeScope(), pooled.contiguous().DetachFromDisposeScope(), guidance ? 2 : 1);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        EncoderHiddenStates.Dispose();
        PooledProjections.Dispose();
    }
}

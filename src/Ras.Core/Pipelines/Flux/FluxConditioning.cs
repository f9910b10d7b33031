using Ras.Errors;
using Ras.Models.Flux;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Pipelines.Flux;

/// <summary>
/// FLUX.1 prompt conditioning arranged as the model batch: <c>[negative × B, positive × B]</c> with true classifier-free
/// guidance (unconditional first, as <see cref="SamplingConvention.Flux"/> says), <c>[positive × B]</c> without; the
/// embedded guidance value (FLUX.1-dev) per model-batch row; the text position ids. Embeddings of batch 1 are broadcast
/// to B images.
/// </summary>
public sealed class FluxConditioning : IDisposable
{
    private FluxConditioning(Tensor promptEmbeds, Tensor pooled, Tensor? guidance, Tensor textIds, int copies)
    {
        PromptEmbeds = promptEmbeds;
        PooledProjections = pooled;
        Guidance = guidance;
        TextIds = textIds;
        GuidanceCopies = copies;
    }

    /// <summary><c>[B·copies, L, joint_attention_dim]</c> float32 (T5 embeddings).</summary>
    public Tensor PromptEmbeds { get; }

    /// <summary><c>[B·copies, pooled_projection_dim]</c> float32 (CLIP pooled embedding).</summary>
    public Tensor PooledProjections { get; }

    /// <summary><c>[B·copies]</c> float32 embedded guidance (e.g. 3.5 everywhere), or null for a model without a guidance embedding.</summary>
    public Tensor? Guidance { get; }

    /// <summary><c>[L, 3]</c> text position ids (zeros).</summary>
    public Tensor TextIds { get; }

    /// <summary>2 with true classifier-free guidance, else 1.</summary>
    public int GuidanceCopies { get; }

    /// <summary>
    /// Arranges prompt (and, with true CFG, negative prompt) embeddings for <paramref name="batch"/> images.
    /// </summary>
    /// <param name="promptEmbeds"><c>[B or 1, L, J]</c>.</param>
    /// <param name="pooledPromptEmbeds"><c>[B or 1, P]</c>.</param>
    /// <param name="negativePromptEmbeds"><c>[B or 1, L, J]</c>, needed with <paramref name="trueCfg"/>.</param>
    /// <param name="negativePooledPromptEmbeds"><c>[B or 1, P]</c>, needed with <paramref name="trueCfg"/>.</param>
    /// <param name="batch">Number of images B.</param>
    /// <param name="trueCfg">True classifier-free guidance (a negative and a positive half).</param>
    /// <param name="guidanceScale">The embedded guidance value for a FLUX.1-dev style model, null for a model without one.</param>
    /// <exception cref="OptionsException">Shapes that do not fit together, true CFG without negatives, or a non-finite guidance.</exception>
    public static FluxConditioning Create(Tensor promptEmbeds, Tensor pooledPromptEmbeds, Tensor? negativePromptEmbeds,
        Tensor? negativePooledPromptEmbeds, int batch, bool trueCfg, double? guidanceScale)
    {
        ArgumentNullException.ThrowIfNull(promptEmbeds);
        ArgumentNullException.ThrowIfNull(pooledPromptEmbeds);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (guidanceScale is double g && !double.IsFinite(g))
        {
            throw new OptionsException("guidance", $"must be a finite number, found {g}");
        }

        using var scope = NewDisposeScope();
        Tensor text = PromptBatch.Broadcast(promptEmbeds, batch, "prompt_embeds", 3, ScalarType.Float32);
        Tensor pooled = PromptBatch.Broadcast(pooledPromptEmbeds, batch, "pooled_prompt_embeds", 2, ScalarType.Float32);
        if (trueCfg)
        {
            if (negativePromptEmbeds is null || negativePooledPromptEmbeds is null)
            {
                throw new OptionsException("true-cfg", "true classifier-free guidance needs negative_prompt_embeds and negative_pooled_prompt_embeds");
            }

            Tensor negText = PromptBatch.Broadcast(negativePromptEmbeds, batch, "negative_prompt_embeds", 3, ScalarType.Float32);
            Tensor negPooled = PromptBatch.Broadcast(negativePooledPromptEmbeds, batch, "negative_pooled_prompt_embeds", 2, ScalarType.Float32);
            PromptBatch.RequireSameShape(negText, "negative_prompt_embeds", text, "prompt_embeds");
            PromptBatch.RequireSameShape(negPooled, "negative_pooled_prompt_embeds", pooled, "pooled_prompt_embeds");
            text = cat([negText, text], 0);
            pooled = cat([negPooled, pooled], 0);
        }

        int copies = trueCfg ? 2 : 1;
        Tensor? guidance = guidanceScale is double value ? full([batch * copies], (float)value, ScalarType.Float32, text.device) : null;
        Tensor textIds = FluxLatents.TextIds(text.shape[1], text.device);

        // Owned by the returned object alone, never by a caller's dispose scope.
        return new FluxConditioning(text.contiguous().DetachFromDisposeScope(), pooled.contiguous().DetachFromDisposeScope(),
            guidance?.DetachFromDisposeScope(), textIds.DetachFromDisposeScope(), copies);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        PromptEmbeds.Dispose();
        PooledProjections.Dispose();
        Guidance?.Dispose();
        TextIds.Dispose();
    }
}

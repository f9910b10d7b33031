using Ras.Models.Clip;
using Ras.Models.T5;
using static TorchSharp.torch;

namespace Ras.Pipelines.SD3;

/// <summary>Token ids of one prompt batch for SD3's three text towers.</summary>
/// <param name="ClipL"><c>[B, 77]</c> ids for <c>text_encoder</c> (CLIP-L).</param>
/// <param name="ClipG"><c>[B, 77]</c> ids for <c>text_encoder_2</c> (OpenCLIP bigG).</param>
/// <param name="T5">Optional <c>[B, max_sequence_length]</c> ids for <c>text_encoder_3</c> (T5); null when T5 is skipped.</param>
public sealed record SD3TokenIds(Tensor ClipL, Tensor ClipG, Tensor? T5);

/// <summary>Prompt embeddings as SD3's transformer consumes them.</summary>
/// <param name="PromptEmbeds"><c>[B·n, 77 + S, D]</c>: CLIP-L ⊕ CLIP-G hidden states zero-padded to D, then T5.</param>
/// <param name="PooledPromptEmbeds"><c>[B·n, P_L + P_G]</c>.</param>
public sealed record SD3PromptEmbeddings(Tensor PromptEmbeds, Tensor PooledPromptEmbeds);

/// <summary>
/// SD3's prompt assembly, exactly as diffusers <c>StableDiffusion3Pipeline.encode_prompt</c> does it: per-token
/// CLIP embeddings from the penultimate hidden state (or <c>clip_skip</c>), CLIP-L and CLIP-G concatenated on
/// features and zero-padded to the T5 width, then T5's last hidden state appended along the sequence (zeros of
/// 77 × <c>joint_attention_dim</c> without T5); pooled = both CLIPs' projected EOS vectors; each prompt repeated
/// for its images consecutively (p0, p0, p1, p1 — the order fixed in diffusers 0.36). The stages are separate so
/// a pipeline can load one text encoder at a time.
/// </summary>
public static class SD3PromptEncoder
{
    /// <summary>
    /// One CLIP's contribution: per-token hidden states <c>[B, 77, H]</c> — <c>hidden_states[-(clipSkip + 2)]</c>, as diffusers'
    /// <c>_get_clip_prompt_embeds</c> (null = 0: the penultimate layer) — and the projected pooled vector <c>[B, P]</c>, which
    /// <paramref name="clipSkip"/> does not change.
    /// </summary>
    /// <exception cref="Errors.OptionsException"><paramref name="clipSkip"/> is negative or skips every layer of this CLIP.</exception>
    public static (Tensor Tokens, Tensor Pooled) Clip(CLIPTextModelWithProjection clip, Tensor ids, int? clipSkip = null)
    {
        ArgumentNullException.ThrowIfNull(clip);
        int skip = clipSkip ?? 0;
        int layers = clip.Config.NumHiddenLayers;
        if (skip < 0 || skip > layers - 1)
        {
            throw new Errors.OptionsException("clip-skip", $"must be in [0, {layers - 1}] for a CLIP text encoder of {layers} layers, found {skip}");
        }

        CLIPTextOutput output = clip.Forward(ids);
        return (output.HiddenStates[^(skip + 2)], output.TextEmbeds);
    }

    /// <summary>T5's contribution: <c>[B, S, d_model]</c>, no attention mask (as SD3).</summary>
    public static Tensor T5(T5EncoderModel t5, Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(t5);
        return t5.Forward(ids).LastHiddenState;
    }

    /// <summary>Concatenates the parts; <paramref name="t5"/> null means zeros of <c>[B, 77, jointAttentionDim]</c>.</summary>
    public static SD3PromptEmbeddings Assemble((Tensor Tokens, Tensor Pooled) clipL, (Tensor Tokens, Tensor Pooled) clipG, Tensor? t5, int jointAttentionDim, int imagesPerPrompt = 1)
    {
        using var scope = NewDisposeScope();
        Tensor clip = cat([clipL.Tokens, clipG.Tokens], -1);                                             // [B, 77, H_L + H_G]
        Tensor text = t5 ?? zeros([clip.shape[0], clip.shape[1], jointAttentionDim], clip.dtype, clip.device);
        long width = text.shape[2];
        if (clip.shape[2] > width)
        {
            throw new ArgumentException($"the CLIP features ({clip.shape[2]}) are wider than the T5 / joint attention width ({width})");
        }

        Tensor embeds = cat([nn.functional.pad(clip, [0, width - clip.shape[2]]), text], 1);           // [B, 77 + S, D]
        Tensor pooled = cat([clipL.Pooled, clipG.Pooled], -1);                                          // [B, P_L + P_G]
        if (imagesPerPrompt > 1)
        {
            embeds = embeds.repeat_interleave(imagesPerPrompt, 0);
            pooled = pooled.repeat_interleave(imagesPerPrompt, 0);
        }

        return new SD3PromptEmbeddings(embeds.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }

    /// <summary>All three stages with encoders already loaded (tests, callers that keep them resident).</summary>
    public static SD3PromptEmbeddings Encode(CLIPTextModelWithProjection clipL, CLIPTextModelWithProjection clipG, T5EncoderModel? t5,
        SD3TokenIds ids, int jointAttentionDim, int imagesPerPrompt = 1, int? clipSkip = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var scope = NewDisposeScope();
        var l = Clip(clipL, ids.ClipL, clipSkip);
        var g = Clip(clipG, ids.ClipG, clipSkip);
        Tensor? text = t5 is not null && ids.T5 is not null ? T5(t5, ids.T5) : null;
        var result = Assemble(l, g, text, jointAttentionDim, imagesPerPrompt);
        return new SD3PromptEmbeddings(result.PromptEmbeds.MoveToOuterDisposeScope(), result.PooledPromptEmbeds.MoveToOuterDisposeScope());
    }
}

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
/// for its images consecutively (p0, p0, p1, p1 — the order fixed in diffusers 0.36).
/// </summary>
public sealed class SD3PromptEncoder
{
    private readonly CLIPTextModelWithProjection clipL;
    private readonly CLIPTextModelWithProjection clipG;
    private readonly T5EncoderModel? t5;
    private readonly int jointAttentionDim;

    /// <summary>Wraps the three encoders (T5 may be null: <c>--no-t5</c>); <paramref name="jointAttentionDim"/> is the transformer's text width.</summary>
    public SD3PromptEncoder(CLIPTextModelWithProjection clipL, CLIPTextModelWithProjection clipG, T5EncoderModel? t5, int jointAttentionDim)
    {
        this.clipL = clipL ?? throw new ArgumentNullException(nameof(clipL));
        this.clipG = clipG ?? throw new ArgumentNullException(nameof(clipG));
        this.t5 = t5;
        this.jointAttentionDim = jointAttentionDim;
    }

    /// <summary>Encodes one batch of prompts; <paramref name="clipSkip"/> applies to positive prompts only, as in diffusers.</summary>
    public SD3PromptEmbeddings Encode(SD3TokenIds ids, int imagesPerPrompt = 1, int? clipSkip = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var scope = NewDisposeScope();
        int hiddenIndexFromEnd = (clipSkip ?? 0) + 2;
        CLIPTextOutput l = clipL.Forward(ids.ClipL);
        CLIPTextOutput g = clipG.Forward(ids.ClipG);
        Tensor clip = cat([l.HiddenStates[^hiddenIndexFromEnd], g.HiddenStates[^hiddenIndexFromEnd]], -1);   // [B, 77, H_L + H_G]

        Tensor textT5 = t5 is not null && ids.T5 is not null
            ? t5.Forward(ids.T5).LastHiddenState                                                            // [B, S, D]
            : zeros([clip.shape[0], clip.shape[1], jointAttentionDim], clip.dtype, clip.device);
        long width = textT5.shape[2];
        if (clip.shape[2] > width)
        {
            throw new ArgumentException($"the CLIP features ({clip.shape[2]}) are wider than the T5 / joint attention width ({width})");
        }

        Tensor padded = nn.functional.pad(clip, [0, width - clip.shape[2]]);
        Tensor embeds = cat([padded, textT5], 1);                                                         // [B, 77 + S, D]
        Tensor pooled = cat([l.TextEmbeds, g.TextEmbeds], -1);                                            // [B, P_L + P_G]
        if (imagesPerPrompt > 1)
        {
            embeds = embeds.repeat_interleave(imagesPerPrompt, 0);
            pooled = pooled.repeat_interleave(imagesPerPrompt, 0);
        }

        return new SD3PromptEmbeddings(embeds.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }
}

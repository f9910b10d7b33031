using System.CommandLine;
using Ras.Errors;
using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.Pipelines.SD3;

namespace Ras.Cli.Options;

/// <summary>
/// The flags only some model families have, mapped 1:1 onto the open model's <see cref="FamilyExtras"/> type. A flag given
/// for a model of a family without it is an error naming the flag.
/// </summary>
internal sealed class FamilyFlags
{
    private readonly Option<int?> maxSequenceLength = new("--max-sequence-length")
    {
        Description = $"SD3 and FLUX.1: T5 tokens, 1–{StableDiffusion3Pipeline.MaxT5Length}. Default: SD3 {StableDiffusion3Pipeline.DefaultMaxSequenceLength}, FLUX.1-dev {FluxPipeline.DevMaxSequenceLength}, FLUX.1-schnell {FluxPipeline.SchnellMaxSequenceLength}.",
    };

    private readonly Option<bool> noT5 = new("--no-t5") { Description = "SD3: skip the T5 encoder (zeros in its place, as diffusers without text_encoder_3); saves its memory and time." };

    private readonly Option<int?> clipSkip = new("--clip-skip")
    {
        Description = "SD3: CLIP layers to skip, as diffusers' clip_skip (both CLIP towers give hidden_states[-(N + 2)]): 0 = the penultimate layer, SD3's default; 1 the one before. Recorded in the PNG as \"Clip skip: N\" (diffusers' count, not A1111's). Default: 0.",
    };

    private readonly Option<double?> trueCfg = new("--true-cfg")
    {
        Description = "FLUX.1: true classifier-free guidance with --negative-prompt (a second, unconditional pass per image, combined u + s·(c − u)), as diffusers' true_cfg_scale; on when > 1. Default: off (FLUX.1-dev's --guidance is its embedded guidance).",
    };

    public void AddTo(Command command)
    {
        command.Add(maxSequenceLength);
        command.Add(noT5);
        command.Add(clipSkip);
        command.Add(trueCfg);
    }

    /// <summary>The extras of <paramref name="family"/> from the flags given, or null when none were.</summary>
    /// <exception cref="OptionsException">A flag the family does not have.</exception>
    public FamilyExtras? Extras(ModelFamily family, ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(family);
        int? length = result.GetValue(maxSequenceLength);
        bool skipT5 = result.GetValue(noT5);
        double? trueCfgScale = result.GetValue(trueCfg);
        int? skip = result.GetValue(clipSkip);
        bool sd3 = family.ExtrasType == typeof(SD3Extras);
        bool flux = family.ExtrasType == typeof(FluxExtras);
        foreach ((bool given, bool available, string flag) in new[]
        {
            (length is not null, sd3 || flux, "max-sequence-length"), (skipT5, sd3, "no-t5"), (skip is not null, sd3, "clip-skip"), (trueCfgScale is not null, flux, "true-cfg"),
        })
        {
            if (given && !available)
            {
                throw new OptionsException(flag, $"is not available for {family.Name} models");
            }
        }

        if (length is null && !skipT5 && trueCfgScale is null && skip is null)
        {
            return null;
        }

        return sd3 ? new SD3Extras { MaxSequenceLength = length, SkipT5 = skipT5, ClipSkip = skip } : new FluxExtras { MaxSequenceLength = length, TrueCfgScale = trueCfgScale };
    }
}

using System.CommandLine;
using Ras.Errors;
using Ras.Pipelines;
using Ras.Pipelines.SD3;

namespace Ras.Cli.Options;

/// <summary>
/// The flags only one model family has, mapped 1:1 onto that family's <see cref="FamilyExtras"/> type once the model is open.
/// A flag given for a model of another family is an error naming the flag.
/// </summary>
internal sealed class FamilyFlags
{
    private readonly Option<int?> maxSequenceLength = new("--max-sequence-length")
    {
        Description = $"SD3: T5 tokens, 1–{StableDiffusion3Pipeline.MaxT5Length}. Default: {StableDiffusion3Pipeline.DefaultMaxSequenceLength}.",
    };

    private readonly Option<bool> noT5 = new("--no-t5") { Description = "SD3: skip the T5 encoder (zeros in its place, as diffusers without text_encoder_3); saves its memory and time." };

    public void AddTo(Command command)
    {
        command.Add(maxSequenceLength);
        command.Add(noT5);
    }

    /// <summary>The extras of <paramref name="family"/> from the flags given, or null when none were.</summary>
    /// <exception cref="OptionsException">A flag of another family.</exception>
    public FamilyExtras? Extras(ModelFamily family, ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(family);
        int? length = result.GetValue(maxSequenceLength);
        bool skipT5 = result.GetValue(noT5);
        if (family.ExtrasType == typeof(SD3Extras))
        {
            return length is null && !skipT5 ? null : new SD3Extras { MaxSequenceLength = length, SkipT5 = skipT5 };
        }

        foreach ((bool given, string flag) in new[] { (length is not null, "max-sequence-length"), (skipT5, "no-t5") })
        {
            if (given)
            {
                throw new OptionsException(flag, $"is not available for {family.Name} models");
            }
        }

        return null;
    }
}

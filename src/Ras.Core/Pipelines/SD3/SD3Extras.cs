namespace Ras.Pipelines.SD3;

/// <summary>SD3 / SD3.5 settings of an <see cref="ImageRequest"/> (<see cref="ImageRequest.Extras"/>).</summary>
public sealed record SD3Extras : FamilyExtras
{
    /// <summary>T5 sequence length (≤ 512); null = diffusers' default 256.</summary>
    public int? MaxSequenceLength { get; init; }

    /// <summary>Skip the T5 encoder (zeros in its place, as diffusers without <c>text_encoder_3</c>).</summary>
    public bool SkipT5 { get; init; }

    /// <summary>
    /// CLIP layers to skip, as diffusers' <c>clip_skip</c>: both CLIP towers give <c>hidden_states[-(clip_skip + 2)]</c>, so null or 0
    /// is SD3's default (the penultimate layer) and 1 the layer before it. Not A1111's count (there 1 = the last layer).
    /// </summary>
    public int? ClipSkip { get; init; }

    /// <inheritdoc />
    public override string FamilyName => "SD3";

    /// <inheritdoc />
    public override IEnumerable<(string Key, string Value)> Parameters()
    {
        if (SkipT5)
        {
            yield return ("T5", "skipped");
        }
        else if (MaxSequenceLength is int length)
        {
            yield return ("Max sequence length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (ClipSkip is int skip)
        {
            yield return ("Clip skip", skip.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <inheritdoc />
    public override IEnumerable<string> OptionNames()
    {
        if (MaxSequenceLength is not null)
        {
            yield return "max-sequence-length";
        }

        if (SkipT5)
        {
            yield return "no-t5";
        }

        if (ClipSkip is not null)
        {
            yield return "clip-skip";
        }
    }
}

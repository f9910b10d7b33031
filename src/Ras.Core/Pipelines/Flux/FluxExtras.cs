using System.Globalization;

namespace Ras.Pipelines.Flux;

/// <summary>FLUX.1 settings of an <see cref="ImageRequest"/> (<see cref="ImageRequest.Extras"/>).</summary>
public sealed record FluxExtras : FamilyExtras
{
    /// <summary>T5 sequence length (≤ 512); null = the model's default (dev 512, schnell 256).</summary>
    public int? MaxSequenceLength { get; init; }

    /// <summary>
    /// True classifier-free guidance with the negative prompt (diffusers' <c>true_cfg_scale</c>): a second, unconditional pass per
    /// image, combined <c>u + s·(c − u)</c>; on when &gt; 1. Null = off. FLUX.1-dev's own guidance stays the embedded one.
    /// </summary>
    public double? TrueCfgScale { get; init; }

    /// <inheritdoc />
    public override string FamilyName => "FLUX.1";

    /// <inheritdoc />
    /// <remarks>The true-CFG scale is reported as the CFG scale, as Forge does.</remarks>
    public override IEnumerable<(string Key, string Value)> Parameters()
    {
        if (MaxSequenceLength is int length)
        {
            yield return ("Max sequence length", length.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <inheritdoc />
    public override IEnumerable<string> OptionNames()
    {
        if (MaxSequenceLength is not null)
        {
            yield return "max-sequence-length";
        }

        if (TrueCfgScale is not null)
        {
            yield return "true-cfg";
        }
    }
}

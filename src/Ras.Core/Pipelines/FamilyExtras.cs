namespace Ras.Pipelines;

/// <summary>
/// Settings that only one model family has (e.g. SD3's T5 length, Lumina-Next's RoPE watershed, FLUX.1's true CFG), carried
/// by <see cref="ImageRequest.Extras"/> and by <see cref="ModelFamily.LoadTransformer"/>. A family takes its own extras type and
/// rejects any other with a message naming the options and the family they belong to.
/// </summary>
public abstract record FamilyExtras
{
    /// <summary>The family these settings belong to (for messages), e.g. <c>SD3</c>.</summary>
    public abstract string FamilyName { get; }

    /// <summary>
    /// The settings in <paramref name="extras"/> as <typeparamref name="T"/>, or null when none were given.
    /// </summary>
    /// <exception cref="Errors.OptionsException">Extras of another family (named with its first non-default option).</exception>
    public static T? Expect<T>(FamilyExtras? extras, string family)
        where T : FamilyExtras => extras switch
        {
            null => null,
            T mine => mine,
            _ => throw new Errors.OptionsException(extras.OptionNames().FirstOrDefault() ?? extras.GetType().Name,
                $"is a {extras.FamilyName} setting; this is a {family} model"),
        };

    /// <summary>The resolved settings as A1111-style infotext entries (e.g. <c>("Max sequence length", "256")</c>), in order.</summary>
    public virtual IEnumerable<(string Key, string Value)> Parameters() => [];

    /// <summary>The CLI names of the options these extras set to something other than their defaults (for messages).</summary>
    public abstract IEnumerable<string> OptionNames();
}

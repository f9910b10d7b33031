namespace Ras.Errors;

/// <summary>An option value that is out of range or inconsistent with another option.</summary>
public sealed class OptionsException : RasInputException
{
    /// <summary>Creates the exception; the message reads "<paramref name="option"/>: <paramref name="problem"/>".</summary>
    public OptionsException(string option, string problem)
        : base($"{option}: {problem}")
    {
        Option = option;
    }

    /// <summary>The option, in the kebab-case spelling the CLI uses (e.g. <c>sample-ratio</c>).</summary>
    public string Option { get; }
}

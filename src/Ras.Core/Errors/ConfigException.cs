namespace Ras.Errors;

/// <summary>A configuration file (e.g. a diffusers <c>config.json</c>) that we cannot use.</summary>
public sealed class ConfigException : RasInputException
{
    /// <summary>Creates the exception; the message names the file and, when given, the field.</summary>
    public ConfigException(string filePath, string? field, string problem, Exception? innerException = null)
        : base(field is null ? $"{filePath}: {problem}" : $"{filePath}: field '{field}': {problem}", innerException)
    {
        FilePath = filePath;
        Field = field;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>The offending field, or null when the problem concerns the whole file.</summary>
    public string? Field { get; }
}

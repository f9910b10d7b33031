namespace Ras.Errors;

/// <summary>A malformed or unreadable safetensors file.</summary>
public sealed class SafetensorsException : RasInputException
{
    /// <summary>Creates the exception; the message names the file and, when given, the tensor.</summary>
    public SafetensorsException(string filePath, string? tensorName, string problem, Exception? innerException = null)
        : base(tensorName is null ? $"{filePath}: {problem}" : $"{filePath}: tensor '{tensorName}': {problem}", innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>The offending tensor, or null when the problem concerns the header as a whole.</summary>
    public string? TensorName { get; }
}

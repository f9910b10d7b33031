namespace Ras.Errors;

/// <summary>A malformed, unsupported or unreadable GGUF file.</summary>
public sealed class GgufException : RasInputException
{
    /// <summary>
    /// Creates the exception; the message names the file and, when given, the tensor or metadata key
    /// (<paramref name="what"/> is e.g. <c>tensor 'img_in.weight'</c> or <c>key 'general.alignment'</c>).
    /// </summary>
    public GgufException(string filePath, string? what, string problem, Exception? innerException = null)
        : base(what is null ? $"{filePath}: {problem}" : $"{filePath}: {what}: {problem}", innerException)
    {
        FilePath = filePath;
        Subject = what;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }

    /// <summary>The offending tensor or key (<c>tensor '…'</c>, <c>key '…'</c>), or null when the problem concerns the file as a whole.</summary>
    public string? Subject { get; }

    internal static string Tensor(string name) => $"tensor '{name}'";

    internal static string Key(string key) => $"key '{key}'";
}

using Ras.Errors;

namespace Ras.Cli.Options;

/// <summary>Checks of output paths given on the command line, before any work: named by their flag.</summary>
internal static class OutputPath
{
    /// <summary>Throws unless <paramref name="path"/> is a non-empty path.</summary>
    public static string Require(string option, string? path) =>
        string.IsNullOrWhiteSpace(path) ? throw new OptionsException(option, "needs a file path, found an empty one") : path;

    /// <summary>
    /// Throws unless <paramref name="path"/> is a non-empty <c>.png</c> path: ras writes PNG only, and PNG bytes under a
    /// <c>.jpg</c> or <c>.webp</c> name would mislead every viewer and tool that trusts the extension.
    /// </summary>
    public static string RequirePng(string option, string? path)
    {
        Require(option, path);
        if (!string.Equals(Path.GetExtension(path), ".png", StringComparison.OrdinalIgnoreCase))
        {
            throw new OptionsException(option, $"'{path}': ras writes PNG images (with the parameters in a text chunk); name the file .png (JPEG and WebP are not written)");
        }

        return path!;
    }

    /// <summary>Throws when a file of <paramref name="these"/> (<paramref name="option"/>) is also one of <paramref name="others"/> (<paramref name="otherOption"/>).</summary>
    public static void RequireDistinct(string option, IEnumerable<string> these, string otherOption, IEnumerable<string> others)
    {
        var taken = others.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        foreach (string path in these)
        {
            if (taken.Contains(Path.GetFullPath(path)))
            {
                throw new OptionsException(option, $"'{path}' is also written by --{otherOption}; give each output its own file");
            }
        }
    }
}

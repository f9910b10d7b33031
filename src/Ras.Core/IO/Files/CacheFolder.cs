namespace Ras.IO.Files;

/// <summary>Where Ras keeps state that outlives a run: <c>$XDG_CACHE_HOME/ras</c>, else <c>~/.cache/ras</c>, else the temp folder.</summary>
public static class CacheFolder
{
    /// <summary>The cache root (not created).</summary>
    public static string Root
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            string root = !string.IsNullOrEmpty(xdg) ? xdg
                : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache")
                : Path.GetTempPath();
            return Path.Combine(root, "ras");
        }
    }

    /// <summary><see cref="Root"/>/<paramref name="parts"/>, created.</summary>
    public static string For(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        string folder = Path.Combine([Root, .. parts]);
        Directory.CreateDirectory(folder);
        return folder;
    }
}

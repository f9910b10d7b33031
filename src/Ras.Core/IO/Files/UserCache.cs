namespace Ras.IO.Files;

/// <summary>
/// Where ras keeps files it derives once and reuses (the built-in model unpacked, the patched native wrapper, training
/// checkpoints): <c>$XDG_CACHE_HOME/ras</c>, else <c>~/.cache/ras</c>; when that cannot be written (a read-only or missing
/// home, as in containers and CI sandboxes), a per-user folder in the temp folder, <c>$TMPDIR/ras-&lt;user&gt;</c>.
/// </summary>
public static class UserCache
{
    /// <summary>The preferred cache root: <c>$XDG_CACHE_HOME/ras</c>, else <c>$HOME/.cache/ras</c> (the temp root when neither is set).</summary>
    public static string Root => RootFor(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify));

    /// <summary>The fallback root in the temp folder, <c>$TMPDIR/ras-&lt;user&gt;</c>.</summary>
    public static string TempRoot => Path.Combine(Path.GetTempPath(), $"ras-{Environment.UserName}");

    /// <summary>The roots to try, in order: <see cref="Root"/>, then <see cref="TempRoot"/>.</summary>
    public static IReadOnlyList<string> Roots => Root == TempRoot ? [Root] : [Root, TempRoot];

    /// <summary><see cref="Root"/> for a given environment (tests).</summary>
    internal static string RootFor(Func<string, string?> environment, string? home)
    {
        string? xdg = environment("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "ras");   // the XDG spec ignores relative paths
        }

        return !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache", "ras") : TempRoot;
    }

    /// <summary>
    /// Creates <paramref name="relative"/> under the first root where that works and a file can be written in it, and returns
    /// it with the reason the roots before it were passed over (null when the first one served).
    /// </summary>
    /// <exception cref="IOException">No root can be written (every reason in the message).</exception>
    public static (string Folder, string? PassedOver) CreateFolder(string relative)
    {
        var problems = new List<string>();
        foreach (string root in Roots)
        {
            string folder = Path.Combine(root, relative);
            try
            {
                Directory.CreateDirectory(folder);
                string probe = Path.Combine(folder, $".ras-write-probe.{Environment.ProcessId}.{Guid.NewGuid():N}");
                File.WriteAllBytes(probe, []);
                File.Delete(probe);
                return (folder, problems.Count == 0 ? null : string.Join("; ", problems));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{root} is not writable ({e.Message})");
            }
        }

        throw new IOException($"no cache folder can be written: {string.Join("; ", problems)}");
    }
}

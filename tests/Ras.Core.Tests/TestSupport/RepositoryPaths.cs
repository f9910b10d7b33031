namespace Ras.Tests.TestSupport;

/// <summary>Locates the repository root and the shared fixtures from a test binary's folder.</summary>
public static class RepositoryPaths
{
    /// <summary>The folder holding <c>Ras.slnx</c>.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The fixtures root: <c>$RAS_FIXTURES</c> (resolved against the repository root when relative),
    /// else <c>../shared/fixtures</c> next to the repository.
    /// </summary>
    public static string FixturesRoot
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("RAS_FIXTURES");
            return string.IsNullOrWhiteSpace(configured)
                ? Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures"))
                : Path.GetFullPath(configured, Root);
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ras.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Ras.slnx not found above {AppContext.BaseDirectory}");
    }
}

using System.Security.Cryptography;
using Ras.Errors;

namespace Ras.Cli;

/// <summary>
/// The built-in ras-shapes model, embedded in the <c>ras</c> assembly (so it is found from any working
/// directory and any build output folder) and unpacked once into <c>~/.cache/ras/models/ras-shapes-&lt;hash&gt;</c>,
/// because weights are read memory-mapped from files.
/// </summary>
internal static class DefaultModel
{
    private const string Prefix = "ras-shapes/";

    /// <summary>The built-in model's name in infotexts and model lists.</summary>
    public const string Name = "ras-shapes";

    public static string Folder()
    {
        var assembly = typeof(DefaultModel).Assembly;
        var names = assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            throw new RasInputException("this build of ras has no built-in model (models/ras-shapes was missing when it was built); pass --model");
        }

        var contents = names.ToDictionary(n => n, n => Read(assembly, n));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, bytes) in contents)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData(bytes);
        }

        string key = Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant();
        string root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "ras", "models");
        string folder = Path.Combine(root, $"ras-shapes-{key}");
        if (Directory.Exists(folder))
        {
            return folder;
        }

        // Unpack into a temp sibling, then rename: concurrent first runs never see a half-written folder.
        string temp = $"{folder}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        foreach (var (name, bytes) in contents)
        {
            string path = Path.Combine(temp, name[Prefix.Length..]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }

        try
        {
            Directory.Move(temp, folder);
        }
        catch (IOException) when (Directory.Exists(folder))
        {
            Directory.Delete(temp, recursive: true); // another process unpacked it first
        }

        return folder;
    }

    private static byte[] Read(System.Reflection.Assembly assembly, string name)
    {
        using Stream stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

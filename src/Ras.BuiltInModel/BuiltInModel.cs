using System.Reflection;
using System.Security.Cryptography;
using Ras.Errors;
using Ras.IO.Files;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>Where the built-in model was found or unpacked.</summary>
/// <param name="Folder">The model folder (a <see cref="ShapesPipeline"/> folder).</param>
/// <param name="Unpacked">True when this call unpacked it (the first use under this cache root).</param>
/// <param name="PassedOver">Why the preferred cache root was not used (e.g. a read-only home), or null.</param>
public sealed record BuiltInModelFolder(string Folder, bool Unpacked, string? PassedOver);

/// <summary>
/// The built-in <c>ras-shapes</c> model (models/ras-shapes: 64×64 procedural shapes, the SD3 transformer trained from scratch),
/// embedded in this assembly so that a program has a working text-to-image model with no download. Weights are read
/// memory-mapped from files, so the first use unpacks them under a content hash into the user cache
/// (<see cref="UserCache"/>: <c>$XDG_CACHE_HOME/ras/models</c>, <c>~/.cache/ras/models</c>, else the temp folder); two builds
/// with different weights never share a folder, and concurrent first uses never see a half-written one.
/// </summary>
public static class BuiltInModel
{
    /// <summary>The model's name.</summary>
    public const string Name = "ras-shapes";

    private const string Prefix = Name + "/";

    /// <summary>Opens the built-in model (unpacking it on first use).</summary>
    /// <param name="device">Where to compute; null for the CPU.</param>
    /// <exception cref="RasInputException">This build has no embedded model.</exception>
    /// <exception cref="IOException">No cache folder can be written.</exception>
    public static ShapesPipeline Open(Device? device = null) => ShapesPipeline.Load(Unpack().Folder, device);

    /// <summary>The model folder, unpacked into the first writable cache root unless a root already holds it.</summary>
    /// <exception cref="RasInputException">This build has no embedded model.</exception>
    /// <exception cref="IOException">No cache folder can be written.</exception>
    public static BuiltInModelFolder Unpack()
    {
        Assembly assembly = typeof(BuiltInModel).Assembly;
        var names = assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            throw new RasInputException("this build has no built-in model (models/ras-shapes was missing when it was built); give a model folder");
        }

        var contents = names.ToDictionary(n => n, n => Read(assembly, n));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, bytes) in contents)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData(bytes);
        }

        string folderName = $"{Name}-{Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant()}";
        foreach (string root in UserCache.Roots)
        {
            string existing = Path.Combine(root, "models", folderName);
            if (Directory.Exists(existing))
            {
                return new BuiltInModelFolder(existing, Unpacked: false, PassedOver: null);
            }
        }

        (string models, string? passedOver) = UserCache.CreateFolder("models");
        string folder = Path.Combine(models, folderName);

        // Unpack into a temp sibling, then rename: concurrent first runs never see a half-written folder.
        string temp = $"{folder}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            foreach (var (name, bytes) in contents)
            {
                string path = Path.Combine(temp, name[Prefix.Length..]);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, bytes);
            }

            Directory.Move(temp, folder);
        }
        catch (IOException) when (Directory.Exists(folder))
        {
            // Another process unpacked it first.
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }

        return new BuiltInModelFolder(folder, Unpacked: true, passedOver);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using Stream stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

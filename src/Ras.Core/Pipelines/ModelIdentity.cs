using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Ras.Pipelines;

/// <summary>
/// A model as A1111-style front ends name it: the name shown in infotexts (<c>Model: …</c>) and model lists, and a short
/// content hash (<c>Model hash: …</c>, the <c>[hash]</c> of an <c>sd-models</c> title). The CLI and the server compute both
/// the same way, so a PNG's text does not depend on which front end wrote it.
/// </summary>
/// <param name="Name">Folder name or file name without extension; commas are replaced (infotext values may not hold one).</param>
/// <param name="Hash">Ten lower-case hex digits (<see cref="HashOf"/>).</param>
public sealed record ModelIdentity(string Name, string Hash)
{
    /// <summary>Bytes read from each sampled place of a file.</summary>
    private const int SampleBytes = 1 << 20;

    /// <summary>The identity of the model at <paramref name="path"/> (a folder or a single file), named <paramref name="name"/> or after the path.</summary>
    /// <exception cref="IOException">The path cannot be read.</exception>
    public static ModelIdentity Of(string path, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string trimmed = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string shown = name ?? (Directory.Exists(trimmed) ? Path.GetFileName(trimmed) : Path.GetFileNameWithoutExtension(trimmed));
        return new ModelIdentity(shown.Replace(',', ' '), HashOf(trimmed));
    }

    /// <summary>
    /// The first ten hex digits of a SHA-256 over the model's content, sampled so that multi-gigabyte checkpoints hash in
    /// milliseconds: for a file, its length and three 1 MiB samples (start, middle, end); for a folder, every file's relative
    /// path (ordinal order, '/'-separated) followed by that file's sampled digest. Not A1111's full-file SHA-256: hashes from
    /// A1111 and from us differ for the same file.
    /// </summary>
    public static string HashOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (Directory.Exists(path))
        {
            foreach (string file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(path, f).Replace('\\', '/')).Order(StringComparer.Ordinal))
            {
                hash.AppendData(Encoding.UTF8.GetBytes(file));
                hash.AppendData(FileDigest(Path.Combine(path, file)));
            }
        }
        else
        {
            hash.AppendData(FileDigest(path));
        }

        return Convert.ToHexString(hash.GetHashAndReset())[..10].ToLowerInvariant();
    }

    private static byte[] FileDigest(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, stream.Length);
        hash.AppendData(length);
        var buffer = new byte[SampleBytes];
        long[] starts = stream.Length <= 3L * SampleBytes ? [0] : [0, (stream.Length / 2) - (SampleBytes / 2), stream.Length - SampleBytes];
        foreach (long start in starts)
        {
            stream.Position = start;
            int read = stream.ReadAtLeast(buffer, (int)Math.Min(buffer.Length, stream.Length - start), throwOnEndOfStream: false);
            hash.AppendData(buffer, 0, read);
        }

        if (stream.Length <= 3L * SampleBytes && stream.Length > SampleBytes)
        {
            // Small files are read whole: the loop above took the first MiB, this takes the rest.
            stream.Position = SampleBytes;
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }

        return hash.GetHashAndReset();
    }
}

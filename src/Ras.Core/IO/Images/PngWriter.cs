using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Ras.IO.Files;

namespace Ras.IO.Images;

/// <summary>
/// Writes 8-bit RGB PNGs with optional text chunks (e.g. A1111-style <c>parameters</c>), atomically: <c>tEXt</c> when the text
/// is Latin-1, else <c>iTXt</c> (uncompressed UTF-8), as A1111 does through PIL, so "— 星" reads back as written.
/// Pure managed: filter 0 scanlines, zlib from the BCL, CRC-32 per the PNG spec.
/// </summary>
public static class PngWriter
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Writes <paramref name="rgb"/> (<c>[H, W, 3]</c> bytes, row-major) to <paramref name="path"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> rgb, int width, int height, IReadOnlyDictionary<string, string>? text = null)
    {
        byte[] encoded = Encode(rgb, width, height, text);
        AtomicFile.Write(path, stream => stream.Write(encoded));
    }

    /// <summary>The PNG file bytes.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> rgb, int width, int height, IReadOnlyDictionary<string, string>? text = null)
    {
        if (width < 1 || height < 1 || rgb.Length != width * height * 3)
        {
            throw new ArgumentException($"expected {width}×{height}×3 bytes, got {rgb.Length}", nameof(rgb));
        }

        using var file = new MemoryStream();
        file.Write(Signature);
        byte[] header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 2;  // colour type: truecolour
        WriteChunk(file, "IHDR", header);

        foreach (var (key, value) in text ?? new Dictionary<string, string>())
        {
            WriteText(file, key, value);
        }

        using (var pixels = new MemoryStream())
        {
            using (var zlib = new ZLibStream(pixels, CompressionLevel.Optimal, leaveOpen: true))
            {
                int stride = width * 3;
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0); // filter: none
                    zlib.Write(rgb.Slice(y * stride, stride));
                }
            }

            WriteChunk(file, "IDAT", pixels.ToArray());
        }

        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>
    /// One text chunk. Keywords are 1–79 Latin-1 characters without NUL in both chunk types. <c>tEXt</c> holds Latin-1 only;
    /// other text goes in an <c>iTXt</c> chunk: keyword, NUL, compression flag 0, method 0, empty language tag and translated
    /// keyword (each NUL-terminated), then the UTF-8 text (PNG spec 11.3.4.5; what PIL's <c>add_text</c> falls back to).
    /// </summary>
    private static void WriteText(Stream stream, string key, string value)
    {
        if (key.Length is < 1 or > 79 || key.Any(c => c is '\0' or > '\u00FF'))
        {
            throw new ArgumentException($"PNG text keyword '{key}' must be 1–79 Latin-1 characters without NUL", nameof(key));
        }

        byte[] keyword = Encoding.Latin1.GetBytes(key);
        if (value.All(c => c <= '\u00FF'))
        {
            WriteChunk(stream, "tEXt", [.. keyword, 0, .. Encoding.Latin1.GetBytes(value)]);
        }
        else
        {
            WriteChunk(stream, "iTXt", [.. keyword, 0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(value)]);
        }
    }

    private static void WriteChunk(Stream stream, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(typeBytes);
        stream.Write(data);
        uint crc = Crc(Crc(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc);
        stream.Write(crcBytes);
    }

    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}

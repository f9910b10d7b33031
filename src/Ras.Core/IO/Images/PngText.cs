using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Ras.Errors;

namespace Ras.IO.Images;

/// <summary>Reads the text chunks of a PNG (<c>tEXt</c>, <c>zTXt</c>, <c>iTXt</c>), e.g. A1111's <c>parameters</c>.</summary>
public static class PngText
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>True when <paramref name="bytes"/> starts with the PNG signature.</summary>
    public static bool IsPng(ReadOnlySpan<byte> bytes) => bytes.StartsWith(Signature);

    /// <summary>Every text chunk of <paramref name="png"/>, keyword → text, in file order (a repeated keyword keeps its first text).</summary>
    /// <exception cref="RasInputException">Not a PNG, or a chunk runs past the end of the data.</exception>
    public static IReadOnlyDictionary<string, string> Read(ReadOnlySpan<byte> png)
    {
        if (!IsPng(png))
        {
            throw new RasInputException("not a PNG image (no PNG signature)");
        }

        var text = new Dictionary<string, string>(StringComparer.Ordinal);
        int at = Signature.Length;
        while (at + 8 <= png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png[at..]);
            string type = Encoding.ASCII.GetString(png.Slice(at + 4, 4));
            if (length < 0 || at + 12L + length > png.Length)
            {
                throw new RasInputException($"PNG chunk {type} at byte {at} runs past the end of the data");
            }

            ReadOnlySpan<byte> data = png.Slice(at + 8, length);
            if (Decode(type, data) is (string key, string value))
            {
                text.TryAdd(key, value);
            }

            if (type == "IEND")
            {
                break;
            }

            at += 12 + length;
        }

        return text;
    }

    private static (string Key, string Value)? Decode(string type, ReadOnlySpan<byte> data)
    {
        int nul = data.IndexOf((byte)0);
        if (nul < 0 || type is not ("tEXt" or "zTXt" or "iTXt"))
        {
            return null;
        }

        string key = Encoding.Latin1.GetString(data[..nul]);
        ReadOnlySpan<byte> rest = data[(nul + 1)..];
        switch (type)
        {
            case "tEXt":
                return (key, Encoding.Latin1.GetString(rest));
            case "zTXt":
                return rest.Length < 1 ? null : (key, Encoding.Latin1.GetString(Inflate(rest[1..])));
            default:
                // iTXt: compression flag, method, language tag NUL, translated keyword NUL, UTF-8 text.
                if (rest.Length < 2)
                {
                    return null;
                }

                bool compressed = rest[0] != 0;
                ReadOnlySpan<byte> tail = rest[2..];
                int language = tail.IndexOf((byte)0);
                if (language < 0)
                {
                    return null;
                }

                tail = tail[(language + 1)..];
                int translated = tail.IndexOf((byte)0);
                if (translated < 0)
                {
                    return null;
                }

                tail = tail[(translated + 1)..];
                return (key, Encoding.UTF8.GetString(compressed ? Inflate(tail) : tail));
        }
    }

    private static byte[] Inflate(ReadOnlySpan<byte> data)
    {
        using var input = new MemoryStream(data.ToArray());
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        try
        {
            zlib.CopyTo(output);
        }
        catch (InvalidDataException e)
        {
            throw new RasInputException($"a compressed PNG text chunk is corrupt ({e.Message})", e);
        }

        return output.ToArray();
    }
}

using System.Buffers.Binary;

namespace Ras.IO.Images;

/// <summary>
/// Checks an image file before its bytes reach the decoder: a known signature, a PNG's chunk structure or a JPEG's segment
/// structure (up to the image data) with every length inside the file, and a sane declared size. StbImageSharp loops forever
/// on a JPEG whose header segment is cut off by the end of the file, and allocates (and decodes) whatever size a header
/// claims, so it sees neither.
/// </summary>
internal static class ImageHeader
{
    /// <summary>Longest side accepted.</summary>
    public const int MaxSide = 16384;

    /// <summary>Most pixels accepted (a 50-megapixel photo; 150 MB as 8-bit RGB).</summary>
    public const long MaxPixels = 50_000_000;

    /// <summary>
    /// Null when the file is a PNG, JPEG, BMP, GIF or PSD whose structure (PNG chunks, JPEG segments up to the image data)
    /// is sound and whose declared size is within the caps; else the problem. Other formats are refused: TGA has no
    /// signature, and the decoder takes almost any bytes for one (random data decoded as a 14595×22808 TGA).
    /// </summary>
    public static string? Problem(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 8 && bytes[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        {
            return Png(bytes);
        }

        if (bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        {
            return Jpeg(bytes);
        }

        if (bytes.Length >= 26 && bytes[0] == (byte)'B' && bytes[1] == (byte)'M')
        {
            // BITMAPCOREHEADER (12 bytes): 16-bit sizes; every later header: 32-bit, the height negative for top-down rows.
            bool core = BinaryPrimitives.ReadUInt32LittleEndian(bytes[14..]) == 12;
            long width = core ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[18..]) : BinaryPrimitives.ReadInt32LittleEndian(bytes[18..]);
            long height = core ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[20..]) : Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(bytes[22..]));
            return width < 0 ? $"BMP declares a width of {width}" : Size((uint)Math.Min(width, uint.MaxValue), (uint)Math.Min(height, uint.MaxValue));
        }

        if (bytes.Length >= 10 && (bytes[..6].SequenceEqual("GIF87a"u8) || bytes[..6].SequenceEqual("GIF89a"u8)))
        {
            return Size(BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]), BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]));
        }

        if (bytes.Length >= 26 && bytes[..4].SequenceEqual("8BPS"u8))
        {
            return Size(BinaryPrimitives.ReadUInt32BigEndian(bytes[18..]), BinaryPrimitives.ReadUInt32BigEndian(bytes[14..]));
        }

        return "not a PNG, JPEG, BMP, GIF or PSD file (unrecognised signature)";
    }

    private static string? Png(ReadOnlySpan<byte> bytes)
    {
        int p = 8;
        bool header = false;
        while (true)
        {
            if (p + 8 > bytes.Length)
            {
                return header ? null : "PNG ends before its IHDR chunk (truncated)";   // a missing IEND is the decoder's business
            }

            uint length = BinaryPrimitives.ReadUInt32BigEndian(bytes[p..]);
            ReadOnlySpan<byte> type = bytes.Slice(p + 4, 4);
            if (length > int.MaxValue || length + 12L > bytes.Length - p)
            {
                return $"PNG chunk '{Printable(type)}' at byte {p} claims {length} bytes, past the end of the {bytes.Length}-byte file (truncated?)";
            }

            if (!header)
            {
                if (!type.SequenceEqual("IHDR"u8) || length != 13)
                {
                    return "PNG does not start with a 13-byte IHDR chunk";
                }

                if (Size(BinaryPrimitives.ReadUInt32BigEndian(bytes[(p + 8)..]), BinaryPrimitives.ReadUInt32BigEndian(bytes[(p + 12)..])) is string size)
                {
                    return size;
                }

                header = true;
            }

            if (type.SequenceEqual("IEND"u8))
            {
                return null;
            }

            p += 12 + (int)length;
        }
    }

    private static string? Jpeg(ReadOnlySpan<byte> bytes)
    {
        int p = 2;
        bool frame = false;
        while (true)
        {
            while (p < bytes.Length && bytes[p] == 0xFF)
            {
                p++;   // fill bytes before a marker
            }

            if (p >= bytes.Length)
            {
                return "JPEG ends before its image data (truncated)";
            }

            byte marker = bytes[p++];
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7))
            {
                continue;   // markers without a length
            }

            if (marker == 0xD9)
            {
                return "JPEG ends (EOI) before its image data";
            }

            if (p + 2 > bytes.Length)
            {
                return $"JPEG segment 0x{marker:X2} at byte {p - 1} is cut off by the end of the file (truncated?)";
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[p..]);
            if (length < 2 || p + length > bytes.Length)
            {
                return $"JPEG segment 0x{marker:X2} at byte {p - 1} claims {length} bytes; the file has {bytes.Length - p} left (truncated?)";
            }

            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC))
            {
                if (length < 8)
                {
                    return $"JPEG frame header (0x{marker:X2}) is {length} bytes, too short";
                }

                if (Size(BinaryPrimitives.ReadUInt16BigEndian(bytes[(p + 5)..]), BinaryPrimitives.ReadUInt16BigEndian(bytes[(p + 3)..])) is string size)
                {
                    return size;
                }

                frame = true;
            }

            if (marker == 0xDA)
            {
                return frame ? null : "JPEG image data (SOS) comes before any frame header (SOF)";
            }

            p += length;
        }
    }

    private static string? Size(uint width, uint height)
    {
        if (width == 0 || height == 0)
        {
            return $"declares a size of {width}×{height} pixels";
        }

        if (width > MaxSide || height > MaxSide || (long)width * height > MaxPixels)
        {
            return $"declares {width}×{height} pixels, more than this reader accepts (at most {MaxSide} per side and {MaxPixels / 1_000_000} megapixels)";
        }

        return null;
    }

    private static string Printable(ReadOnlySpan<byte> type)
    {
        var chars = new char[type.Length];
        for (int i = 0; i < type.Length; i++)
        {
            chars[i] = type[i] is >= 0x20 and < 0x7F ? (char)type[i] : '?';
        }

        return new string(chars);
    }
}

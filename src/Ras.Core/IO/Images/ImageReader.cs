using Ras.Errors;
using StbImageSharp;

namespace Ras.IO.Images;

/// <summary>An 8-bit RGB image.</summary>
/// <param name="Rgb"><c>[H, W, 3]</c> bytes, row-major.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
public sealed record RgbImage(byte[] Rgb, int Width, int Height);

/// <summary>Reads PNG, JPEG, BMP, GIF (first frame) and PSD images as 8-bit RGB (alpha dropped), via StbImageSharp, after <see cref="ImageHeader"/>'s checks.</summary>
public static class ImageReader
{
    /// <summary>Largest image file read.</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Decodes <paramref name="path"/>.</summary>
    /// <exception cref="RasInputException">
    /// The file is missing, not a decodable image, cut off, or declares more than 16384 pixels per side or 50 megapixels.
    /// </exception>
    public static RgbImage Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new RasInputException($"{path}: image not found");
        }

        try
        {
            long length = new FileInfo(path).Length;
            if (length > MaxFileBytes)
            {
                throw new RasInputException($"{path}: image file is {length} bytes, more than the {MaxFileBytes} this reader accepts");
            }

            byte[] bytes = File.ReadAllBytes(path);
            if (ImageHeader.Problem(bytes) is string problem)
            {
                throw new RasInputException($"{path}: not a readable image ({problem})");
            }

            ImageResult image = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue);
            return new RgbImage(image.Data, image.Width, image.Height);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or NotSupportedException or IndexOutOfRangeException
            or OverflowException)
        {
            throw new RasInputException($"{path}: not a readable image ({e.Message})", e);
        }
    }

    /// <summary>Decodes an image file's bytes (e.g. an upload); <paramref name="what"/> names it in errors.</summary>
    /// <exception cref="RasInputException">Not a decodable image.</exception>
    public static RgbImage Decode(byte[] bytes, string what)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            ImageResult image = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue);
            return new RgbImage(image.Data, image.Width, image.Height);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or NotSupportedException or IndexOutOfRangeException)
        {
            throw new RasInputException($"{what}: not a readable image ({e.Message})", e);
        }
    }

    /// <summary>The width and height in an image file's header, without decoding its pixels; null when it is not an image.</summary>
    public static (int Width, int Height)? Size(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        try
        {
            using var stream = new MemoryStream(bytes);
            ImageInfo? info = ImageInfo.FromStream(stream);
            return info is { } i ? (i.Width, i.Height) : null;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or NotSupportedException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}

using System.Buffers.Binary;
using Ras.Errors;
using Ras.IO.Images;
using Ras.Tests.TestSupport;

namespace Ras.Tests.IO.Images;

/// <summary>What the image reader refuses before the decoder sees it, each time naming the file.</summary>
public sealed class ImageReaderTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static byte[] Png(int width, int height) => PngWriter.Encode(new byte[width * height * 3], width, height);

    [Fact]
    public void A_png_reads_as_rgb()
    {
        string path = temp.File("ok.png");
        File.WriteAllBytes(path, Png(6, 4));
        RgbImage image = ImageReader.Read(path);
        Assert.Equal((6, 4, 72), (image.Width, image.Height, image.Rgb.Length));
    }

    [Fact]
    public void Unrecognised_signatures_truncated_structures_and_huge_sizes_are_refused()
    {
        byte[] huge = Png(2, 2);
        BinaryPrimitives.WriteUInt32BigEndian(huge.AsSpan(16), 20_000);   // IHDR width (CRC left stale: the size check comes first)
        byte[] cutChunk = Png(2, 2)[..45];   // inside the IDAT chunk
        byte[] jpegCut = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46];   // an APP0 segment claiming more bytes than the file has
        byte[] random = new byte[300];
        new Random(3).NextBytes(random);
        random[0] = 0x00;

        foreach (var (name, bytes, message) in new[]
        {
            ("huge.png", huge, "20000×2 pixels"), ("cut.png", cutChunk, "past the end"), ("cut.jpg", jpegCut, "claims 16 bytes"),
            ("noise.tga", random, "unrecognised signature"), ("empty.png", Array.Empty<byte>(), "unrecognised signature"),
        })
        {
            string path = temp.File(name);
            File.WriteAllBytes(path, bytes);
            var error = Assert.Throws<RasInputException>(() => ImageReader.Read(path));
            Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }
    }
}

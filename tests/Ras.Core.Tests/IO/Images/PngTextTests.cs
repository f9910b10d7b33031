using Ras.Errors;
using Ras.IO.Images;

namespace Ras.Tests.IO.Images;

public sealed class PngTextTests
{
    private static readonly byte[] Pixels = [1, 2, 3, 4, 5, 6];

    [Fact]
    public void Latin1_text_round_trips_through_tEXt()
    {
        byte[] png = PngWriter.Encode(Pixels, 2, 1, new Dictionary<string, string> { ["parameters"] = "a cat\nSteps: 3, Sampler: Euler" });
        Assert.Contains("tEXt"u8.ToArray(), Chunks(png));
        Assert.Equal("a cat\nSteps: 3, Sampler: Euler", PngText.Read(png)["parameters"]);
    }

    [Fact]
    public void Text_latin1_cannot_hold_goes_into_utf8_iTXt_and_reads_back_exactly()
    {
        const string Prompt = "一只猫 🐱, café";
        byte[] png = PngWriter.Encode(Pixels, 2, 1, new Dictionary<string, string> { ["parameters"] = Prompt, ["Comment"] = "plain" });
        Assert.Contains("iTXt"u8.ToArray(), Chunks(png));
        IReadOnlyDictionary<string, string> text = PngText.Read(png);
        Assert.Equal(Prompt, text["parameters"]);
        Assert.Equal("plain", text["Comment"]);
        Assert.Equal((2, 1), (ImageReader.Decode(png, "png").Width, ImageReader.Decode(png, "png").Height));
    }

    [Fact]
    public void Not_a_png_is_an_input_error()
    {
        Assert.Throws<RasInputException>(() => PngText.Read("GIF89a"u8));
        Assert.Throws<RasInputException>(() => ImageReader.Decode([1, 2, 3], "init_images[0]"));
        Assert.Null(ImageReader.Size([1, 2, 3]));
    }

    private static List<byte[]> Chunks(byte[] png)
    {
        var types = new List<byte[]>();
        for (int at = 8; at + 8 <= png.Length;)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            types.Add(png[(at + 4)..(at + 8)]);
            at += 12 + length;
        }

        return types;
    }
}

using PngText = Ras.Tests.TestSupport.PngText;
using Ras.IO.Images;
using Ras.Tests.TestSupport;

namespace Ras.Tests.IO.Images;

public sealed class PngWriterTests
{
    private static readonly byte[] Pixels = new byte[2 * 3 * 3];

    [Fact]
    public void Latin1_text_is_a_text_chunk()
    {
        byte[] png = PngWriter.Encode(Pixels, 2, 3, new Dictionary<string, string> { ["parameters"] = "a café\nSteps: 3" });
        Assert.Equal([("tEXt", "parameters", "a café\nSteps: 3")], PngText.Read(png));
    }

    /// <summary>Issue 16: "— 星" came back as "- ?" from a Latin-1 tEXt chunk; A1111 (PIL) writes such text as UTF-8 iTXt.</summary>
    [Fact]
    public void Other_text_is_an_international_text_chunk_that_reads_back_unchanged()
    {
        const string prompt = "a star — 星, ünïcode ✓\nNegative prompt: ";
        byte[] png = PngWriter.Encode(Pixels, 2, 3, new Dictionary<string, string> { ["parameters"] = prompt, ["Comment"] = "plain" });
        Assert.Equal([("iTXt", "parameters", prompt), ("tEXt", "Comment", "plain")], PngText.Read(png));
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("x.png"), png);
        RgbImage image = ImageReader.Read(temp.File("x.png"));   // decoders skip the chunk
        Assert.Equal((2, 3), (image.Width, image.Height));
    }

    [Theory]
    [InlineData("")]
    [InlineData("星")]
    [InlineData("a\0b")]
    public void Keywords_must_be_1_to_79_latin1_characters(string key)
    {
        Assert.Throws<ArgumentException>(() => PngWriter.Encode(Pixels, 2, 3, new Dictionary<string, string> { [key] = "x" }));
        Assert.Throws<ArgumentException>(() => PngWriter.Encode(Pixels, 2, 3, new Dictionary<string, string> { [new string('k', 80)] = "x" }));
    }
}

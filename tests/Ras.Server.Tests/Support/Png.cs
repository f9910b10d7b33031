using Ras.IO.Images;

namespace Ras.Server.Tests.Support;

/// <summary>PNG checks every client test makes: it decodes at the size asked for, and its <c>parameters</c> text.</summary>
public static class Png
{
    public static RgbImage Decode(byte[] png, int width, int height)
    {
        Assert.True(PngText.IsPng(png), "not a PNG");
        RgbImage image = ImageReader.Decode(png, "png");
        Assert.Equal((width, height), (image.Width, image.Height));
        return image;
    }

    public static string Parameters(byte[] png) => PngText.Read(png)["parameters"];
}

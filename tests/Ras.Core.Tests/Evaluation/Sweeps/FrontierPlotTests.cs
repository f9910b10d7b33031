using Ras.Evaluation;
using Ras.Evaluation.Plots;
using Ras.IO.Images;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Evaluation.Sweeps;

public sealed class FrontierPlotTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static EvalRow Row(string family, double flopsRatio, double adherence, double? ssim) =>
        new("x", null, null, null, 20, adherence, adherence, null, ssim, 1, 1, 100 / flopsRatio, new AttributeAccuracy(1, 1, 1, 1, 1, []), flopsRatio, $"{family} {flopsRatio}", family);

    [Fact]
    public void Writes_an_svg_and_a_png_of_the_same_plot()
    {
        EvalRow[] rows = [Row("dense", 1, 0.96, null), Row("dense", 2, 0.9, 0.95), Row("ras revisit", 2, 0.85, 0.9), Row("ras revisit", 1.5, 0.92, 0.97)];
        string svg = temp.File("plot.svg");
        FrontierPlot.Write(svg, rows, "a title 2× 0.5%");

        string text = File.ReadAllText(svg);
        Assert.StartsWith("<svg", text, StringComparison.Ordinal);
        Assert.Contains("a title 2× 0.5%", text, StringComparison.Ordinal);
        Assert.Contains(">ras revisit<", text, StringComparison.Ordinal);
        // Each panel: a ring per row (4) and a disc per frontier point (every row here is on its family's frontier: 4); 2 legend discs.
        Assert.Equal((2 * (4 + 4)) + 2, text.Split("<circle").Length - 1);

        RgbImage png = ImageReader.Read(Path.ChangeExtension(svg, ".png"));
        Assert.True(png.Width > 1000 && png.Height > 400);
        Assert.True(png.Rgb.Distinct().Count() > 5, "the PNG should show the plot, not a blank page");
    }
}

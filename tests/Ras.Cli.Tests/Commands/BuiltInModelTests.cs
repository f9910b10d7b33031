using Ras.Data.Shapes;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary>The shipped ras-shapes model: the README's main command, run without <c>--model</c>.</summary>
public sealed class BuiltInModelTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void The_readme_command_draws_its_prompt_with_the_built_in_model()
    {
        string image = temp.File("out.png");
        string heat = temp.File("heat.png");
        var result = CliRunner.Run("generate", "a large yellow star at the center on a purple background", "--seed", "1", "--ras", "--heatmap", heat, "--out", image);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("model:    ras-shapes (", result.Out, StringComparison.Ordinal); // the unpacked built-in folder
        Assert.Contains("ras-shapes-", result.Out, StringComparison.Ordinal);
        Assert.Contains("3342/5120 computed per image", result.Out, StringComparison.Ordinal);
        var heatmap = Ras.IO.Images.ImageReader.Read(heat);
        Assert.Equal((256, 256), (heatmap.Width, heatmap.Height));

        var rgb = Ras.IO.Images.ImageReader.Read(image);
        ShapeColour Named(string name) => ShapeVocabulary.Colours.Single(c => c.Name == name);
        var scene = new ShapeScene([new SceneShape(ShapeKind.Star, ShapeSize.Large, Named("yellow"), 4)], Named("purple"), null);
        var report = SceneAnalyser.Analyse(rgb.Rgb, 64, scene);
        output.WriteLine(report.ToString());
        output.WriteLine(report.Shapes[0].ToString());

        // The scene analyser (the eval's judge) finds every attribute of the prompt in the picture.
        Assert.True(report.Background, $"background read as {report.DetectedTop}/{report.DetectedBottom}");
        Assert.True(report.Adherent, report.Shapes[0].ToString());
    }
}

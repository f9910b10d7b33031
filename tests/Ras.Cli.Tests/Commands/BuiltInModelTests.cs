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
        // The preset: 14 steps of 256 tokens; dense warm-up (steps 0, 1) and resets (5, 10), half the tokens in the 10 others.
        Assert.Contains("2304/3584 computed per image", result.Out, StringComparison.Ordinal);
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

    /// <summary>Issue 16: the built-in model is unpacked under <c>$XDG_CACHE_HOME</c> when it is set, and the CLI says where.</summary>
    [Fact]
    public void The_model_unpacks_under_xdg_cache_home_and_says_where()
    {
        string cache = temp.File("xdg");
        using var run = RasProcess.Run(["info"], new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = cache });
        Assert.True(run.ExitCode == 0, run.Error);
        string models = Path.Combine(cache, "ras", "models");
        Assert.Contains($"ras: unpacked the built-in model to {models}{Path.DirectorySeparatorChar}ras-shapes-", run.Error, StringComparison.Ordinal);
        Assert.Single(Directory.GetDirectories(models));
        Assert.Contains("transformer:   " + models, run.Out, StringComparison.Ordinal);

        using var again = RasProcess.Run(["info"], new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = cache });
        Assert.Equal(0, again.ExitCode);
        Assert.DoesNotContain("unpacked", again.Error, StringComparison.Ordinal);   // found, not unpacked twice
    }

    /// <summary>Issue 16: with a home that cannot be written, the built-in model failed with UnauthorizedAccessException (exit 1).</summary>
    [Fact]
    public void Without_a_writable_home_the_model_unpacks_in_the_temp_folder()
    {
        string tmp = temp.File("tmp");
        Directory.CreateDirectory(tmp);
        var environment = new Dictionary<string, string?> { ["HOME"] = "/proc/ras-no-home", ["XDG_CACHE_HOME"] = null, ["TMPDIR"] = tmp };
        using var run = RasProcess.Run(["generate", "a small red circle at the center on a blue background", "--steps", "2", "--out", temp.File("x.png")], environment);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains($"ras: unpacked the built-in model to {tmp}", run.Error, StringComparison.Ordinal);
        Assert.Contains("/proc/ras-no-home/.cache/ras is not writable", run.Error, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.File("x.png")));
    }
}

using System.Text.RegularExpressions;
using Ras.Data.Shapes;

namespace Ras.Tests.Data.Shapes;

public sealed partial class ShapeDatasetTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [GeneratedRegex("^a (small|large) (red|green|blue|yellow|orange|purple|white|black) (circle|square|triangle|star) at the (top left|top|top right|left|center|right|bottom left|bottom|bottom right)"
        + "( and a (small|large) (red|green|blue|yellow|orange|purple|white|black) (circle|square|triangle|star) at the (top left|top|top right|left|center|right|bottom left|bottom|bottom right)){0,2}"
        + " on a (red|green|blue|yellow|orange|purple|white|black)( and (red|green|blue|yellow|orange|purple|white|black))? background$")]
    private static partial Regex Template();

    [Fact]
    public void Captions_follow_the_template_and_scenes_obey_the_rules()
    {
        var counts = new int[4];
        int gradients = 0;
        for (int i = 0; i < 2000; i++)
        {
            ShapeScene scene = ShapeScene.Sample(7, ShapeScene.TrainStream, i);
            Assert.Matches(Template(), scene.Caption);
            counts[scene.Shapes.Count]++;
            gradients += scene.Bottom is null ? 0 : 1;
            Assert.Equal(scene.Shapes.Count, scene.Shapes.Select(s => s.Position).Distinct().Count());
            Assert.All(scene.Shapes, s => Assert.True(s.Colour != scene.Top && s.Colour != scene.Bottom, scene.Caption));
            Assert.NotEqual(scene.Top, scene.Bottom);
        }

        Assert.Equal(0, counts[0]);
        Assert.All(counts.Skip(1), c => Assert.InRange(c, 560, 780));     // one to three shapes, uniformly
        Assert.InRange(gradients, 850, 1150);
    }

    [Fact]
    public void Scenes_are_deterministic_by_seed_and_streams_differ()
    {
        Assert.Equal(ShapeScene.Sample(1, ShapeScene.TrainStream, 42).Caption, ShapeScene.Sample(1, ShapeScene.TrainStream, 42).Caption);
        var train = Enumerable.Range(0, 200).Select(i => ShapeScene.Sample(1, ShapeScene.TrainStream, i).Caption).ToList();
        var eval = Enumerable.Range(0, 200).Select(i => ShapeScene.Sample(1, ShapeScene.EvalStream, i).Caption).ToList();
        Assert.True(train.Zip(eval).Count(p => p.First == p.Second) < 3);
        Assert.Equal(ShapeRenderer.Render(ShapeScene.Sample(3, 1, 5)), ShapeRenderer.Render(ShapeScene.Sample(3, 1, 5)));
    }

    [Fact]
    public void Rendering_is_anti_aliased_and_draws_the_named_colours()
    {
        var scene = new ShapeScene([new SceneShape(ShapeKind.Circle, ShapeSize.Large, ShapeVocabulary.Colours[0], 4)], ShapeVocabulary.Colours[2], null);
        float[] pixels = ShapeRenderer.Render(scene);
        byte[] Pixel(int x, int y) => pixels.AsSpan(((y * 64) + x) * 3, 3).ToArray().Select(v => (byte)Math.Round(v * 255)).ToArray();
        Assert.Equal([220, 40, 40], Pixel(32, 32));            // centre: red
        Assert.Equal([40, 80, 220], Pixel(1, 1));              // corner: blue
        var reds = Enumerable.Range(0, 64 * 64).Select(i => Pixel(i % 64, i / 64)[0]).ToList();
        Assert.Contains(reds, r => r > 45 && r < 215);         // partial coverage at the rim
    }

    [Fact]
    public void Analyser_agrees_with_the_generator_on_rendered_scenes()
    {
        int agree = 0;
        const int total = 1000;
        var failures = new List<string>();
        for (int i = 0; i < total; i++)
        {
            ShapeScene scene = ShapeScene.Sample(11, ShapeScene.EvalStream, i);
            byte[] rgb = ShapeRenderer.Render(scene).Select(v => (byte)Math.Round(v * 255)).ToArray();
            SceneReport report = SceneAnalyser.Analyse(rgb, 64, scene);
            if (report.Adherent)
            {
                agree++;
            }
            else if (failures.Count < 5)
            {
                failures.Add($"{scene.Caption} → top {report.DetectedTop}, bottom {report.DetectedBottom}, " +
                    string.Join("; ", report.Shapes.Select(s => $"{s.DetectedSize} {s.DetectedColour} {s.DetectedKind}")));
            }
        }

        output.WriteLine($"analyser agrees with the generator on {agree}/{total} rendered scenes");
        Assert.True(agree >= 0.98 * total, $"{agree}/{total} agree; e.g. {string.Join(" | ", failures)}");
    }

    [Fact]
    public void Analyser_catches_each_kind_of_mistake()
    {
        ShapeScene truth = new([new SceneShape(ShapeKind.Star, ShapeSize.Large, ShapeVocabulary.Colours[3], 0),
            new SceneShape(ShapeKind.Square, ShapeSize.Small, ShapeVocabulary.Colours[0], 8)], ShapeVocabulary.Colours[2], ShapeVocabulary.Colours[6]);
        byte[] rgb = ShapeRenderer.Render(truth).Select(v => (byte)Math.Round(v * 255)).ToArray();
        Assert.True(SceneAnalyser.Analyse(rgb, 64, truth).Adherent);

        SceneShape star = truth.Shapes[0];
        Assert.False(SceneAnalyser.Analyse(rgb, 64, truth with { Shapes = [star with { Colour = ShapeVocabulary.Colours[4] }, truth.Shapes[1]] }).Shapes[0].Colour);
        Assert.False(SceneAnalyser.Analyse(rgb, 64, truth with { Shapes = [star with { Size = ShapeSize.Small }, truth.Shapes[1]] }).Shapes[0].Size);
        Assert.False(SceneAnalyser.Analyse(rgb, 64, truth with { Shapes = [star with { Kind = ShapeKind.Circle }, truth.Shapes[1]] }).Shapes[0].Kind);
        Assert.False(SceneAnalyser.Analyse(rgb, 64, truth with { Shapes = [star with { Position = 4 }, truth.Shapes[1]] }).Shapes[0].Present);
        Assert.False(SceneAnalyser.Analyse(rgb, 64, truth with { Bottom = null }).Background);
        Assert.False(SceneAnalyser.Analyse(rgb, 64, truth with { Top = ShapeVocabulary.Colours[1] }).Background);
    }
}

using Ras.Data.Shapes;
using Ras.Evaluation;
using Ras.Models.Shapes;
using Ras.Pipelines;
using Ras.Tests.TestSupport;
using Ras.Training;

namespace Ras.Tests.Evaluation;

// Builds models (libtorch's process-wide generator): run alone, as the trainer tests do.
[Collection(SerialCollection.Name)]
public sealed class ShapesProbeTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly ShapesPipeline silent;

    public ShapesProbeTests()
    {
        // Exported before any step: adaLN-Zero leaves the output projection at zero, so the model predicts v = 0 and
        // the clean image it implies is the noisy input itself — errors with a closed form.
        string folder = temp.File("model");
        using (var trainer = new ShapesTrainer(new ShapesTrainingOptions
        {
            Transformer = ShapesModelDefinition.Transformer with { NumLayers = 1, NumAttentionHeads = 2, AttentionHeadDim = 16, CaptionProjectionDim = 32, JointAttentionDim = 16, PooledProjectionDim = 16 },
            TextEncoder = ShapesModelDefinition.TextEncoder with { HiddenSize = 16, NumAttentionHeads = 2, IntermediateSize = 32, ProjectionDim = 16, NumHiddenLayers = 1 },
        }, temp.File("run")))
        {
            trainer.Export(folder);
        }

        silent = ShapesPipeline.Load(folder);
    }

    public void Dispose()
    {
        silent.Dispose();
        temp.Dispose();
    }

    [Fact]
    public void Errors_follow_their_definitions_for_a_model_that_predicts_zero()
    {
        const int scenes = 16;
        var rows = ShapesProbe.ErrorByTimestep(silent, [0.5, 0.9], scenes, seed: 3);

        // Independently: over shape pixels (where the scene differs from its bare background), E[(ε − x₀)²] = 1 + x₀²,
        // and drawing the background instead of the shapes costs (x₀ − background)².
        double shapeMoment = 0, backgroundMoment = 0, drawNothing = 0;
        long shapePixels = 0, backgroundPixels = 0;
        for (int i = 0; i < scenes; i++)
        {
            var scene = ShapeScene.Sample(3, ShapeScene.EvalStream, i);
            float[] clean = ShapeRenderer.Render(scene), bare = ShapeRenderer.Render(scene with { Shapes = [] });
            for (int p = 0; p < clean.Length; p += 3)
            {
                bool onShape = Enumerable.Range(0, 3).Any(c => Math.Abs(clean[p + c] - bare[p + c]) * 2 > 1e-3);
                for (int c = 0; c < 3; c++)
                {
                    double x0 = (clean[p + c] * 2) - 1, bg = (bare[p + c] * 2) - 1;
                    if (onShape)
                    {
                        shapeMoment += 1 + (x0 * x0);
                        drawNothing += (x0 - bg) * (x0 - bg);
                        shapePixels++;
                    }
                    else
                    {
                        backgroundMoment += 1 + (x0 * x0);
                        backgroundPixels++;
                    }
                }
            }
        }

        foreach (TimestepError row in rows)
        {
            // v = 0: the implied clean image is x_t, off by t·(ε − x₀); the loss is E[(ε − x₀)²] over all pixels.
            double t2 = row.T * row.T;
            Assert.Equal(drawNothing / shapePixels, row.DrawNothingError, 5);
            Assert.InRange(row.ShapeError / t2 / (shapeMoment / shapePixels), 0.9, 1.1);
            Assert.InRange(row.BackgroundError / t2 / (backgroundMoment / backgroundPixels), 0.97, 1.03);
            Assert.InRange(row.Loss / ((shapeMoment + backgroundMoment) / (shapePixels + backgroundPixels)), 0.97, 1.03);
        }
    }

    [Fact]
    public void The_grid_shows_the_noisy_background_for_a_model_that_predicts_zero()
    {
        var (rgb, width, height) = ShapesProbe.CleanImageGrid(silent, ShapesProbe.PositionScenes, [0.02, 0.98], seed: 1);
        Assert.Equal((2 * 130, 9 * 130), (width, height));

        // At t = 0.02 the implied image is the blue background plus 2 % noise; at 0.98 it is mostly noise.
        ShapeColour blue = ShapeVocabulary.Colours.Single(c => c.Name == "blue");
        double MeanDistance(int column)
        {
            double sum = 0;
            int count = 0;
            for (int y = 0; y < 128; y++)
            {
                for (int x = 0; x < 128; x++)
                {
                    int at = ((y * width) + (column * 130) + x) * 3;
                    sum += Math.Abs(rgb[at] - blue.R) + Math.Abs(rgb[at + 1] - blue.G) + Math.Abs(rgb[at + 2] - blue.B);
                    count += 3;
                }
            }

            return sum / count;
        }

        Assert.InRange(MeanDistance(0), 0, 4);
        Assert.True(MeanDistance(1) > 40, $"t = 0.98 column is {MeanDistance(1):0.0} from blue");
        Assert.Equal(9, ShapesProbe.PositionScenes.Select(s => s.Shapes.Single().Position).Distinct().Count());
    }
}

using System.Text.Json.Serialization;
using Ras.Data.Shapes;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Evaluation;

/// <summary>How well a model predicts the clean image at one noise level.</summary>
/// <param name="T">The flow-matching time (0 clean, 1 pure noise).</param>
/// <param name="Loss">The training loss there: mean squared error of the velocity, all pixels.</param>
/// <param name="ShapeError">Mean squared error of the implied clean image <c>x_t − t·v</c> on shape pixels ([-1, 1] scale).</param>
/// <param name="BackgroundError">The same on background pixels.</param>
/// <param name="DrawNothingError">Shape-pixel error of predicting the caption's background everywhere: the reference a model must beat.</param>
public sealed record TimestepError(
    [property: JsonPropertyName("t")] double T,
    [property: JsonPropertyName("loss")] double Loss,
    [property: JsonPropertyName("shape_error")] double ShapeError,
    [property: JsonPropertyName("background_error")] double BackgroundError,
    [property: JsonPropertyName("draw_nothing_error")] double DrawNothingError);

/// <summary>
/// Looks inside a ras-shapes model at single noise levels, to see what training has and has not learned: where
/// the error sits (shape or background pixels, which t), and what the model draws for a caption when the noisy
/// input holds no trace of the shapes. Every scene is deterministic given its caption, so at t near 1 the clean
/// image the model implies shows what it reads from the text alone.
/// </summary>
public static class ShapesProbe
{
    /// <summary>Noise levels of the default probe.</summary>
    public static IReadOnlyList<double> DefaultTimes { get; } = [0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 0.98];

    /// <summary>The position grid's scenes: one large yellow square per cell, on blue, in reading order.</summary>
    public static IReadOnlyList<ShapeScene> PositionScenes { get; } = [.. Enumerable.Range(0, 9).Select(cell => new ShapeScene(
        [new SceneShape(ShapeKind.Square, ShapeSize.Large, Named("yellow"), cell)], Named("blue"), null))];

    /// <summary>Errors at each of <paramref name="times"/> on the first <paramref name="scenes"/> held-out scenes (noise seeded by <paramref name="seed"/>).</summary>
    public static IReadOnlyList<TimestepError> ErrorByTimestep(ShapesPipeline pipeline, IReadOnlyList<double> times, int scenes, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(times);
        var heldOut = Enumerable.Range(0, scenes).Select(i => ShapeScene.Sample(seed, ShapeScene.EvalStream, i)).ToList();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Device device = DeviceOf(pipeline);
        Tensor clean = Images(heldOut, s => s, device);
        Tensor background = Images(heldOut, s => s with { Shapes = [] }, device);
        Tensor onShape = clean.sub(background).abs().amax([1], keepdim: true).gt(1e-3).expand_as(clean).to_type(ScalarType.Float32);
        Tensor onBackground = onShape.neg().add(1);
        double MeanOver(Tensor squared, Tensor mask) => squared.mul(mask).sum().item<float>() / Math.Max(1, mask.sum().item<float>());

        var (hidden, pooled) = Encode(pipeline, heldOut.Select(s => s.Caption));
        using var generator = new Generator(seed);
        var rows = new List<TimestepError>();
        foreach (double t in times)
        {
            using var step = NewDisposeScope();
            Tensor noise = randn(clean.shape, generator: generator).to(device);
            Tensor velocity = noise.sub(clean);
            Tensor noisy = clean.add(velocity.mul(t));
            Tensor predicted = Predict(pipeline, noisy, hidden, pooled, t);
            Tensor cleanError = noisy.sub(predicted.mul(t)).sub(clean).square();
            rows.Add(new TimestepError(t, predicted.sub(velocity).square().mean().item<float>(),
                MeanOver(cleanError, onShape), MeanOver(cleanError, onBackground), MeanOver(background.sub(clean).square(), onShape)));
        }

        return rows;
    }

    /// <summary>
    /// The clean image the model implies at each of <paramref name="times"/> (columns) for each scene's caption (rows),
    /// from noise over the scene's background only — so nothing of the shapes is in the input and the picture
    /// shows what the model reads from the text. RGB bytes <c>[rows·(64·scale+gap), columns·(64·scale+gap), 3]</c>.
    /// </summary>
    public static (byte[] Rgb, int Width, int Height) CleanImageGrid(ShapesPipeline pipeline, IReadOnlyList<ShapeScene> scenes,
        IReadOnlyList<double> times, ulong seed, int scale = 2, int gap = 2)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(scenes);
        ArgumentNullException.ThrowIfNull(times);
        const int size = ShapeRenderer.DefaultSize;
        int cell = (size * scale) + gap;
        int width = times.Count * cell, height = scenes.Count * cell;
        var canvas = new byte[width * height * 3];
        Array.Fill(canvas, (byte)255);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Device device = DeviceOf(pipeline);
        Tensor background = Images(scenes, s => s with { Shapes = [] }, device);
        var (hidden, pooled) = Encode(pipeline, scenes.Select(s => s.Caption));
        using var generator = new Generator(seed);
        Tensor noise = randn(background.shape, generator: generator).to(device);
        for (int column = 0; column < times.Count; column++)
        {
            using var step = NewDisposeScope();
            double t = times[column];
            Tensor noisy = background.add(noise.sub(background).mul(t));
            Tensor implied = noisy.sub(Predict(pipeline, noisy, hidden, pooled, t).mul(t)).clamp(-1, 1);
            for (int row = 0; row < scenes.Count; row++)
            {
                byte[] rgb = ImageTensors.Upscale(ImageTensors.ToRgbBytes(implied[row]), size, size, scale);
                for (int y = 0; y < size * scale; y++)
                {
                    Array.Copy(rgb, y * size * scale * 3, canvas, (((row * cell) + y) * width + (column * cell)) * 3, size * scale * 3);
                }
            }
        }

        return (canvas, width, height);
    }

    private static ShapeColour Named(string name) => ShapeVocabulary.Colours.Single(c => c.Name == name);

    private static Device DeviceOf(ShapesPipeline pipeline) => pipeline.Transformer.parameters().First().device;

    private static Tensor Images(IReadOnlyList<ShapeScene> scenes, Func<ShapeScene, ShapeScene> edit, Device device)
    {
        // No `using`: when already on the device, .to returns the same tensor; the caller's dispose scope owns both.
        return ShapesBatch.Images([.. scenes.Select(edit)], ShapeRenderer.DefaultSize).to(device);
    }

    private static (Tensor Hidden, Tensor Pooled) Encode(ShapesPipeline pipeline, IEnumerable<string> captions)
    {
        int length = pipeline.Tokenizer.MaxLength;
        long[] ids = [.. captions.SelectMany(c => pipeline.Tokenizer.Encode(c).Ids)];
        return pipeline.TextEncoder.Forward(tensor(ids, [ids.Length / length, length]).to(DeviceOf(pipeline)));
    }

    private static Tensor Predict(ShapesPipeline pipeline, Tensor noisy, Tensor hidden, Tensor pooled, double t)
    {
        Tensor timestep = full([noisy.shape[0]], t * pipeline.Scheduler.Config.NumTrainTimesteps, device: noisy.device);
        return pipeline.Transformer.Forward(noisy, hidden, pooled, timestep);
    }
}

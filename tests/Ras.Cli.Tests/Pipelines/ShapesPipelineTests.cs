using Ras.IO.Images;
using Ras.Pipelines;
using Ras.RegionAdaptive;

namespace Ras.Cli.Tests.Pipelines;

/// <summary>The built-in pixel-space model through the library: image-to-image, per-image seeds and stopping early.</summary>
public sealed class ShapesPipelineTests
{
    private static ImageRequest Request(int steps = 6) => new() { Prompts = ["a small red circle at the center on a blue background"], Seed = 5, Steps = steps };

    private static RgbImage Input() => new(Enumerable.Range(0, 80 * 70 * 3).Select(i => (byte)(i * 13 % 256)).ToArray(), 80, 70);

    [Fact]
    public async Task Image_to_image_noises_the_input_to_the_start_sigma_and_strength_one_is_text_to_image()
    {
        using var pipeline = ShapesPipeline.Load(BuiltInModel.Unpack().Folder);
        Assert.True(pipeline.Defaults.SupportsImageToImage);
        ImageGeneration text = await pipeline.GenerateAsync(Request());
        ImageGeneration full = await pipeline.GenerateAsync(Request() with { InitImage = Input(), Strength = 1.0 });
        ImageGeneration half = await pipeline.GenerateAsync(Request() with { InitImage = Input(), Strength = 0.5, Ras = ShapesPipeline.RecommendedRas with { SchedulerStartStep = 1 } });

        Assert.Equal(text.Images[0], full.Images[0]);
        Assert.Equal((64, 64), (full.Width, full.Height));   // an input too large for the model: its native size
        Assert.Equal((6, 3), (half.Settings.Steps, half.Settings.StepsRun));
        Assert.Equal(3, half.Steps.Count);
        Assert.NotEqual(text.Images[0], half.Images[0]);
    }

    [Fact]
    public async Task The_input_is_noised_to_the_first_steps_sigma_as_the_latent_families_noise_their_latents()
    {
        // Stopped before the first step, the result is the noised input itself: σ·noise + (1 − σ)·x₀ at t_start = int(20 − 20·0.3) = 14.
        using var pipeline = ShapesPipeline.Load(BuiltInModel.Unpack().Folder);
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();
        var input = new RgbImage(Enumerable.Range(0, 64 * 64 * 3).Select(i => (byte)(i * 5 % 256)).ToArray(), 64, 64);
        ImageGeneration noised = await pipeline.GenerateAsync(Request(20) with { InitImage = input, Strength = 0.3, Stop = stop.Token });
        Assert.Empty(noised.Steps);

        float sigma = pipeline.Scheduler.SetTimesteps(20).Sigmas[14];
        using var noise = Ras.Sampling.InitialNoise.Draw([1, 3, 64, 64], 5);
        using var clean = ImageTensors.FromRgb(input, 64, 64);
        using var expected = noise.mul(sigma).add(clean.mul(1f - sigma));
        Assert.Equal(ImageTensors.ToRgbBytes(expected[0]), noised.Images[0]);
    }

    [Fact]
    public async Task Per_image_seeds_make_each_batch_image_reproducible_alone()
    {
        using var pipeline = ShapesPipeline.Load(BuiltInModel.Unpack().Folder);
        ImageGeneration batch = await pipeline.GenerateAsync(Request(3) with { ImagesPerPrompt = 2, SeedPerImage = true });
        ImageGeneration second = await pipeline.GenerateAsync(Request(3) with { Seed = 6 });
        // The same noise; batched matrix products may round differently from single ones, so allow a level or two.
        int maxDiff = batch.Images[1].Zip(second.Images[0], (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDiff <= 2, $"image 1 of the batch differs from its seed's single image by up to {maxDiff} levels");
        Assert.NotEqual(batch.Images[0], batch.Images[1]);
    }

    [Fact]
    public async Task Stop_ends_sampling_after_the_current_step_and_still_returns_images()
    {
        using var pipeline = ShapesPipeline.Load(BuiltInModel.Unpack().Folder);
        using var stop = new CancellationTokenSource();
        var progress = new SynchronousReports(p =>
        {
            if (p.Stage == GenerationStage.Denoise && p.Step == 2)
            {
                stop.Cancel();
            }
        });
        ImageGeneration stopped = await pipeline.GenerateAsync(Request(8) with { Stop = stop.Token }, progress);
        Assert.Equal(2, stopped.Steps.Count);
        Assert.Single(stopped.Images);
        Assert.Equal(64 * 64 * 3, stopped.Images[0].Length);
    }

    private sealed class SynchronousReports(Action<GenerationProgress> handler) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => handler(value);
    }
}

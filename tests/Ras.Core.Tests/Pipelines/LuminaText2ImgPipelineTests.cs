using Ras.Errors;
using Ras.IO.Images;
using Ras.Pipelines.SD3;
using Ras.Pipelines;
using Ras.Pipelines.Lumina;
using Ras.RegionAdaptive;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Pipelines;

/// <summary>The Lumina-Next pipeline end to end on a tiny random-weight folder with real file, key and config names.</summary>
[Collection(SerialCollection.Name)]
public sealed class LuminaText2ImgPipelineTests : IDisposable
{
    private readonly string folder = TinyLuminaPipelines.Write(Path.Combine(Path.GetTempPath(), $"ras-lumina-{Guid.NewGuid():N}"));

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>128×96 px: 16×12 latents, 8×6 = 48 tokens, off the trained 128² so RoPE scaling and proportional attention act.</summary>
    private static ImageRequest Request(int steps = 6, RasOptions? ras = null) => new()
    {
        Prompts = ["a red circle"], NegativePrompt = "blurry", Seed = 42, Steps = steps, Width = 128, Height = 96, Ras = ras ?? new RasOptions(),
    };

    private static RasOptions StaticHalf => new() { SampleRatio = 0.5, SchedulerStartStep = 2, ErrorResetSteps = [] };

    [Fact]
    public void Defaults_follow_diffusers_and_the_folder()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        PipelineDefaults d = pipeline.Defaults;
        Assert.Equal((30, 4.0, 128, 128, 16, 384 * 16, true), (d.Steps, d.GuidanceScale, d.Width, d.Height, d.SizeMultiple, d.MaxSize, d.SupportsImageToImage));
        Assert.Equal(8, pipeline.VaeScaleFactor);
        Assert.Equal((1.0, true, 8), (pipeline.Sampling.ScalingWatershed, pipeline.Sampling.ProportionalAttention, pipeline.Sampling.VaeScaleFactor));
        // 64 tokens at the native size: skip_num_step 256 · 64 / 4096 = 4.
        Assert.Equal(4, d.RecommendedRas.SkipNumStep);
        Assert.Equal(LuminaText2ImgPipeline.RecommendedRas, d.RecommendedRasFor(1024, 1024));
        Assert.Equal(3, d.RecommendedRasFor(128, 96).SkipNumStep);
        Assert.StartsWith("Lumina-Next", pipeline.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Recommended_ras_is_the_official_lumina_script_at_1024()
    {
        RasOptions ras = LuminaText2ImgPipeline.RecommendedRas;
        Assert.Equal((0.5, RasMetric.Std, 1.0, 0.1, RasSelectionMode.Official, 256, 4),
            (ras.SampleRatio, ras.Metric, ras.HighRatio, ras.StarvationScale, ras.Selection, ras.SkipNumStep, ras.SkipNumStepLength));

        // 64×64 tokens, 30 steps: avg 2048 + 256·(block − 4), dense before step 4 and at the resets 12 and 22.
        var plan = RasPlan.Create(ras, 30, 64, 64);
        int[] expected = [0, 0, 0, 0, 1280, 1280, 1280, 1280, 1536, 1536, 1536, 1536, 0, 1792, 1792, 1792, 2048, 2048, 2048, 2048,
            2304, 2304, 0, 2304, 2560, 2560, 2560, 2560, 2816, 2816];
        Assert.Equal(expected, plan.SkipCounts);

        // Scaled to 256 tokens: +16 per block, floored to multiples of 64 (the fixture README's "64/128").
        Assert.Equal(16, LuminaText2ImgPipeline.RecommendedRasFor(256).SkipNumStep);
        Assert.Equal([0, 64, 128], RasPlan.Create(LuminaText2ImgPipeline.RecommendedRasFor(256), 30, 16, 16).SkipCounts.Distinct().Order());
        Assert.Throws<ArgumentOutOfRangeException>(() => LuminaText2ImgPipeline.RecommendedRasFor(0));
    }

    [Fact]
    public async Task Text_to_image_is_deterministic_and_reports_every_stage()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        var reports = new List<GenerationProgress>();
        ImageGeneration first = await pipeline.GenerateAsync(Request(), new Recorder(reports));
        ImageGeneration second = await pipeline.GenerateAsync(Request());

        Assert.Equal((128, 96), (first.Width, first.Height));
        Assert.Equal(128 * 96 * 3, first.Images[0].Length);
        Assert.Equal(first.Images[0], second.Images[0]);
        Assert.True(first.Images[0].Distinct().Count() > 10, "the image should not be flat");
        Assert.Equal((6, 6, 4.0, 1.0), (first.Settings.Steps, first.Settings.StepsRun, first.Settings.GuidanceScale, first.Settings.Shift));
        Assert.Equal(new LuminaSamplingOptions { VaeScaleFactor = 8 }, first.Settings.Extras);
        Assert.Equal(16, first.PatchSize);
        Assert.All(first.Steps, s => Assert.Equal(48, s.ComputedTokens));
        Assert.Equal([1], reports.Where(r => r.Stage == GenerationStage.Encode).Select(r => r.Step));
        Assert.Equal(Enumerable.Range(1, 6), reports.Where(r => r.Stage == GenerationStage.Denoise).Select(r => r.Step));
        Assert.Equal([1], reports.Where(r => r.Stage == GenerationStage.Decode).Select(r => r.Step));
        Assert.Equal(["encode", "denoise", "decode"], first.Timings.Keys);
    }

    [Fact]
    public async Task Prompt_is_lower_cased_and_stripped_but_the_negative_is_not()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        byte[] baseline = (await pipeline.GenerateAsync(Request())).Images[0];
        Assert.Equal(baseline, (await pipeline.GenerateAsync(Request() with { Prompts = ["  A Red CIRCLE \n"] })).Images[0]);
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { NegativePrompt = "BLURRY" })).Images[0]);
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { Prompts = ["a blue square"] })).Images[0]);
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { Seed = 43 })).Images[0]);

        // Without guidance the negative is not encoded at all.
        byte[] unguided = (await pipeline.GenerateAsync(Request() with { GuidanceScale = 1.0 })).Images[0];
        Assert.NotEqual(baseline, unguided);
        Assert.Equal(unguided, (await pipeline.GenerateAsync(Request() with { GuidanceScale = 1.0, NegativePrompt = "anything else" })).Images[0]);
    }

    [Fact]
    public async Task Ras_ratio_one_is_dense_and_ras_computes_fewer_tokens()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        ImageGeneration dense = await pipeline.GenerateAsync(Request(8));
        ImageGeneration ratioOne = await pipeline.GenerateAsync(Request(8, StaticHalf with { SampleRatio = 1.0 }));
        ImageGeneration ras = await pipeline.GenerateAsync(Request(8, StaticHalf));

        Assert.Equal(dense.Images[0], ratioOne.Images[0]);
        // Static budget: int(0.5 · 48) = 24 skipped from step 2 on.
        Assert.Equal([48, 48, 24, 24, 24, 24, 24, 24], ras.Steps.Select(s => s.ComputedTokens));
        Assert.Equal([RasStepKind.Dense, RasStepKind.DenseFill, RasStepKind.Sparse], ras.Steps.Take(3).Select(s => s.Kind));
        Assert.NotEqual(dense.Images[0], ras.Images[0]);
        Assert.Equal(48, ras.TokenComputeCounts[0].Length);
        Assert.Equal((2 * 48) + (6 * 24), ras.TokenComputeCounts[0].Sum());
    }

    [Fact]
    public async Task Ras_latents_equal_dense_latents_until_the_first_ras_step()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        var dense = new List<GenerationProgress>();
        var ras = new List<GenerationProgress>();
        await pipeline.GenerateAsync(Request(6) with { Preview = true }, new Recorder(dense));
        await pipeline.GenerateAsync(Request(6, StaticHalf with { SchedulerStartStep = 3 }) with { Preview = true }, new Recorder(ras));
        byte[][] Previews(List<GenerationProgress> reports) => reports.Where(r => r.Stage == GenerationStage.Denoise).Select(r => r.Preview!.Rgb).ToArray();
        byte[][] d = Previews(dense), r = Previews(ras);
        Assert.Equal(6, d.Length);
        for (int step = 0; step < 3; step++)
        {
            Assert.True(d[step].AsSpan().SequenceEqual(r[step]), $"step {step} runs dense in both");
        }

        Assert.False(d[3].AsSpan().SequenceEqual(r[3]), "step 3 is the first RAS step");
    }

    [Fact]
    public async Task Batch_of_two_prompts_gives_two_images_in_order_with_ras()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        ImageRequest request = Request(6, StaticHalf) with { Prompts = ["a red circle", "a much longer prompt about a small blue square on a table"] };
        ImageGeneration batch = await pipeline.GenerateAsync(request);
        ImageGeneration again = await pipeline.GenerateAsync(request);

        Assert.Equal(2, batch.Images.Count);
        Assert.Equal(2, batch.TokenComputeCounts.Length);
        Assert.NotEqual(batch.Images[0], batch.Images[1]);
        Assert.Equal(batch.Images[1], again.Images[1]);
        Assert.All(batch.TokenComputeCounts, counts => Assert.Equal((2 * 48) + (4 * 24), counts.Sum()));

        ImageGeneration perPrompt = await pipeline.GenerateAsync(Request() with { ImagesPerPrompt = 2 });
        Assert.Equal(2, perPrompt.Images.Count);
        Assert.NotEqual(perPrompt.Images[0], perPrompt.Images[1]);
    }

    [Fact]
    public async Task Image_to_image_runs_the_strengths_share_and_strength_one_equals_text_to_image()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        var input = new RgbImage(Enumerable.Range(0, 40 * 30 * 3).Select(i => (byte)(i * 7 % 256)).ToArray(), 40, 30);
        ImageGeneration text = await pipeline.GenerateAsync(Request(6));
        ImageGeneration full = await pipeline.GenerateAsync(Request(6) with { InitImage = input, Strength = 1.0 });
        ImageGeneration half = await pipeline.GenerateAsync(Request(6) with { InitImage = input, Strength = 0.5 });

        Assert.Equal(text.Images[0], full.Images[0]);
        Assert.Equal(6, full.Steps.Count);
        Assert.Equal((6, 3), (half.Settings.Steps, half.Settings.StepsRun));
        Assert.Equal(3, half.Steps.Count);
        Assert.NotEqual(text.Images[0], half.Images[0]);
    }

    [Fact]
    public async Task Invalid_requests_name_the_option()
    {
        using var pipeline = LuminaText2ImgPipeline.Open(folder);
        async Task<string> OptionOf(ImageRequest request) => (await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(request))).Option;
        Assert.Equal("strength", await OptionOf(Request() with { InitImage = new RgbImage(new byte[12], 2, 2), Strength = 0 }));
        Assert.Equal("max-sequence-length", await OptionOf(Request() with { Extras = new SD3Extras { MaxSequenceLength = 128 } }));
        Assert.Equal("no-t5", await OptionOf(Request() with { Extras = new SD3Extras { SkipT5 = true } }));
        Assert.Equal("width", await OptionOf(Request() with { Width = 120 }));
        Assert.Equal("height", await OptionOf(Request() with { Height = 0 }));
        Assert.Equal("prompt", await OptionOf(Request() with { Prompts = [] }));
        Assert.Equal("batch", await OptionOf(Request() with { ImagesPerPrompt = 0 }));
        Assert.Equal("shift", await OptionOf(Request() with { Shift = -1 }));
        Assert.Equal("sample-ratio", await OptionOf(Request(ras: new RasOptions { SampleRatio = 0 })));
    }

    [Fact]
    public void Open_finds_the_family_and_rejects_other_folders()
    {
        using (ITextToImagePipeline pipeline = TextToImagePipeline.Open(folder))
        {
            Assert.IsType<LuminaText2ImgPipeline>(pipeline);
        }

        Directory.Delete(Path.Combine(folder, "vae"), recursive: true);
        var missing = Assert.ThrowsAny<RasInputException>(() => LuminaText2ImgPipeline.Open(folder));
        Assert.Contains("vae/", missing.Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(folder, "model_index.json"), """{"_class_name": "StableDiffusion3Pipeline"}""");
        var wrong = Assert.Throws<ConfigException>(() => LuminaText2ImgPipeline.Open(folder));
        Assert.Equal("_class_name", wrong.Field);
    }

    [Fact]
    public void Proportional_attention_on_a_model_trained_below_32_px_fails_at_open()
    {
        string config = Path.Combine(folder, "transformer", "config.json");
        File.WriteAllText(config, (TinyLuminaPipelines.TransformerConfig with { SampleSize = 2 }).ToJson());
        Assert.Equal("proportional-attn", Assert.Throws<OptionsException>(() => LuminaText2ImgPipeline.Open(folder)).Option);
        using var off = LuminaText2ImgPipeline.Open(folder, sampling: new LuminaSamplingOptions { ProportionalAttention = false });
        Assert.Equal(16, off.Defaults.Width);
    }

    private sealed class Recorder(List<GenerationProgress> reports) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => reports.Add(value);
    }
}

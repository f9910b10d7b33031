using Ras.Errors;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Pipelines;

/// <summary>The FLUX.1 pipeline end to end on tiny random-weight folders and single files with the real names and layouts.</summary>
[Collection(SerialCollection.Name)]
public sealed class FluxPipelineTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly string dev;

    public FluxPipelineTests()
    {
        dev = TinyFluxPipelines.Write(temp.File("flux-dev"));
    }

    public void Dispose() => temp.Dispose();

    private static ImageRequest Request(int steps = 5, RasOptions? ras = null) => new()
    {
        Prompts = ["a red circle"], Seed = 42, Steps = steps, Width = 32, Height = 24, Ras = ras ?? new RasOptions(),
    };

    [Fact]
    public async Task Dev_text_to_image_is_deterministic_with_the_diffusers_defaults()
    {
        using var pipeline = TextToImagePipeline.Open(dev);
        Assert.IsType<FluxPipeline>(pipeline);
        Assert.Same(FluxFamily.Instance, pipeline.Family);
        PipelineDefaults d = pipeline.Defaults;
        Assert.Equal((28, 3.5, GuidanceKind.Embedded, true), (d.Steps, d.GuidanceScale, d.GuidanceKind, d.SupportsImageToImage));
        Assert.Equal((128 * 2, 4), (d.Width, d.SizeMultiple));                             // default_sample_size 128 · VAE 2× (tiny); VAE 2× · packing 2

        var reports = new List<GenerationProgress>();
        ImageGeneration first = await pipeline.GenerateAsync(Request(), new SynchronousRecorder(reports));
        ImageGeneration second = await pipeline.GenerateAsync(Request());
        Assert.Equal((32, 24), (first.Width, first.Height));
        Assert.Equal(first.Images[0], second.Images[0]);
        Assert.True(first.Images[0].Distinct().Count() > 10, "the image should not be flat");
        Assert.Equal(new FluxExtras { MaxSequenceLength = 512 }, first.Settings.Extras);
        Assert.Equal(3.5, first.Settings.GuidanceScale);
        Assert.Equal([1, 2], reports.Where(r => r.Stage == GenerationStage.Encode).Select(r => r.Step));
        Assert.Equal(Enumerable.Range(1, 5), reports.Where(r => r.Stage == GenerationStage.Denoise).Select(r => r.Step));
        Assert.All(first.Steps, s => Assert.Equal(6 * 8, s.ComputedTokens));            // 12×16 latents → a 6×8 packed grid
    }

    [Fact]
    public async Task Embedded_guidance_seed_and_prompt_each_change_the_image()
    {
        using var pipeline = TextToImagePipeline.Open(dev);
        byte[] baseline = (await pipeline.GenerateAsync(Request())).Images[0];
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { GuidanceScale = 1.5 })).Images[0]);
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { Seed = 43 })).Images[0]);
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { Prompts = ["a blue square"] })).Images[0]);
    }

    [Fact]
    public async Task Ras_runs_sparse_steps_with_the_planned_tokens_and_ratio_one_is_dense()
    {
        using var pipeline = TextToImagePipeline.Open(dev);
        var ras = new RasOptions { SampleRatio = 0.5, SchedulerStartStep = 2, ErrorResetSteps = [] };
        ImageGeneration dense = await pipeline.GenerateAsync(Request(6));
        ImageGeneration off = await pipeline.GenerateAsync(Request(6, new RasOptions { SampleRatio = 1.0 }));
        ImageGeneration sparse = await pipeline.GenerateAsync(Request(6, ras));

        Assert.Equal(dense.Images[0], off.Images[0]);
        Assert.Equal([48, 48, 24, 24, 24, 24], sparse.Steps.Select(s => s.ComputedTokens));
        Assert.NotEqual(dense.Images[0], sparse.Images[0]);
        Assert.True(sparse.TokenComputeCounts[0].Min() >= 2, "every token was computed in the two dense steps");
    }

    [Fact]
    public async Task Schnell_takes_four_steps_and_no_guidance()
    {
        string schnell = TinyFluxPipelines.Write(temp.File("flux-schnell"), dev: false);
        using var pipeline = TextToImagePipeline.Open(schnell);
        Assert.Equal((4, GuidanceKind.None), (pipeline.Defaults.Steps, pipeline.Defaults.GuidanceKind));
        Assert.Equal(FluxPipeline.RecommendedSchnellRas, pipeline.Defaults.RecommendedRas);
        ImageGeneration result = await pipeline.GenerateAsync(Request() with { Steps = null });
        Assert.Equal(4, result.Steps.Count);
        Assert.Equal(new FluxExtras { MaxSequenceLength = 256 }, result.Settings.Extras);

        // Guidance is not an input of a schnell model: changing it changes nothing (diffusers ignores guidance_scale).
        Assert.Equal(result.Images[0], (await pipeline.GenerateAsync(Request() with { Steps = null, GuidanceScale = 9 })).Images[0]);

        // Its --ras preset actually runs RAS in four steps.
        ImageGeneration ras = await pipeline.GenerateAsync(Request() with { Steps = null, Ras = pipeline.Defaults.RecommendedRas });
        Assert.Equal(2, ras.Steps.Count(s => s.Kind == RasStepKind.Sparse));
    }

    [Fact]
    public async Task True_cfg_with_a_negative_prompt_changes_the_image_and_needs_both()
    {
        using var pipeline = TextToImagePipeline.Open(dev);
        byte[] plain = (await pipeline.GenerateAsync(Request())).Images[0];
        ImageGeneration guided = await pipeline.GenerateAsync(Request() with { NegativePrompt = "blurry", Extras = new FluxExtras { TrueCfgScale = 3 } });
        Assert.NotEqual(plain, guided.Images[0]);
        Assert.Equal(new FluxExtras { MaxSequenceLength = 512, TrueCfgScale = 3 }, guided.Settings.Extras);

        async Task<string> OptionOf(ImageRequest request) => (await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(request))).Option;
        Assert.Equal("true-cfg", await OptionOf(Request() with { Extras = new FluxExtras { TrueCfgScale = 3 } }));
        Assert.Equal("negative-prompt", await OptionOf(Request() with { NegativePrompt = "blurry" }));
        Assert.Equal("true-cfg", await OptionOf(Request() with { NegativePrompt = "blurry", Extras = new FluxExtras { TrueCfgScale = 0.5 } }));
    }

    [Fact]
    public async Task Image_to_image_at_strength_one_equals_text_to_image()
    {
        using var pipeline = TextToImagePipeline.Open(dev);
        var input = new RgbImage([.. Enumerable.Range(0, 32 * 24 * 3).Select(i => (byte)(i * 7 % 256))], 32, 24);
        ImageGeneration text = await pipeline.GenerateAsync(Request(4));
        ImageGeneration full = await pipeline.GenerateAsync(Request(4) with { InitImage = input, Strength = 1.0 });
        ImageGeneration partial = await pipeline.GenerateAsync(Request(4) with { InitImage = input, Strength = 0.5 });
        Assert.Equal(text.Images[0], full.Images[0]);
        Assert.Equal((4, 2), (partial.Settings.Steps, partial.Settings.StepsRun));
        Assert.NotEqual(text.Images[0], partial.Images[0]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bfl_single_files_give_the_folders_image(bool allInOne)
    {
        string file = TinyFluxPipelines.WriteSingleFile(dev, temp.File(allInOne ? "flux1-dev-comfy.safetensors" : "flux1-dev.safetensors"), allInOne);
        using var fromFolder = TextToImagePipeline.Open(dev);
        using var fromFile = TextToImagePipeline.Open(file, configFolder: dev);
        Assert.IsType<FluxPipeline>(fromFile);
        Assert.Contains("single file", fromFile.Description, StringComparison.Ordinal);
        Assert.Equal((await fromFolder.GenerateAsync(Request())).Images[0], (await fromFile.GenerateAsync(Request())).Images[0]);
    }

    [Fact]
    public void Missing_parts_of_a_single_file_are_named_when_it_opens()
    {
        string bare = TinyFluxPipelines.WriteSingleFile(dev, temp.File("flux1-dev.safetensors"), allInOne: false);
        var noConfig = Assert.ThrowsAny<RasInputException>(() => TextToImagePipeline.Open(bare));
        Assert.Contains("--config", noConfig.Message, StringComparison.Ordinal);

        // A --config folder without VAE weights: the VAE is named.
        string noVae = temp.File("no-vae");
        CopyFolder(dev, noVae);
        foreach (string weights in Directory.GetFiles(Path.Combine(noVae, "vae"), "*.safetensors"))
        {
            File.Delete(weights);
        }

        var error = Assert.ThrowsAny<RasInputException>(() => TextToImagePipeline.Open(bare, configFolder: noVae));
        Assert.Contains("vae", error.Message, StringComparison.Ordinal);
        Assert.Contains(bare, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_folder_of_another_family_is_rejected()
    {
        string sd3 = TinyPipelines.WriteSd3Pipeline(temp.File("sd3"));
        string file = TinyFluxPipelines.WriteSingleFile(dev, temp.File("flux1-dev.safetensors"), allInOne: true);
        var error = Assert.ThrowsAny<RasInputException>(() => TextToImagePipeline.Open(file, configFolder: sd3));
        Assert.Contains("_class_name", error.Message, StringComparison.Ordinal);
        Assert.Contains("FLUX.1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_requests_name_the_option()
    {
        using var pipeline = TextToImagePipeline.Open(dev);
        async Task<string> OptionOf(ImageRequest request) => (await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(request))).Option;
        Assert.Equal("width", await OptionOf(Request() with { Width = 30 }));
        Assert.Equal("height", await OptionOf(Request() with { Height = 4096 }));
        Assert.Equal("max-sequence-length", await OptionOf(Request() with { Extras = new FluxExtras { MaxSequenceLength = 513 } }));
        Assert.Equal("no-t5", await OptionOf(Request() with { Extras = new SD3Extras { SkipT5 = true } }));
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (string dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }

    private sealed class SynchronousRecorder(List<GenerationProgress> reports) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => reports.Add(value);
    }
}

using Ras.Errors;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Tests.Pipelines;

/// <summary>The SD3 pipeline end to end on a tiny random-weight folder with real file, key and config names.</summary>
[Collection(SerialCollection.Name)]
public sealed class StableDiffusion3PipelineTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly string folder = TinyPipelines.WriteSd3Pipeline(Path.Combine(Path.GetTempPath(), $"ras-sd3-{Guid.NewGuid():N}"), withT5: true);

    public void Dispose()
    {
        temp.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    private static ImageRequest Request(int steps = 6, RasOptions? ras = null) => new()
    {
        Prompts = ["a red circle"], NegativePrompt = "blurry", Seed = 42, Steps = steps, Width = 32, Height = 24, Ras = ras ?? new RasOptions(),
    };

    [Fact]
    public async Task Text_to_image_is_deterministic_and_reports_every_stage()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        Assert.True(pipeline.HasT5, "the tiny pipeline should have a T5 tower");
        var reports = new List<GenerationProgress>();
        ImageGeneration first = await pipeline.GenerateAsync(Request(), new SynchronousRecorder(reports));
        ImageGeneration second = await pipeline.GenerateAsync(Request());

        Assert.Equal((32, 24), (first.Width, first.Height));
        Assert.Equal(32 * 24 * 3, first.Images[0].Length);
        Assert.Equal(first.Images[0], second.Images[0]);
        Assert.True(first.Images[0].Distinct().Count() > 10, "the image should not be flat");
        Assert.Equal(new SD3Extras { MaxSequenceLength = 256 }, first.Settings.Extras);
        Assert.Equal([1, 2, 3], reports.Where(r => r.Stage == GenerationStage.Encode).Select(r => r.Step));
        Assert.Equal(Enumerable.Range(1, 6), reports.Where(r => r.Stage == GenerationStage.Denoise).Select(r => r.Step));
        Assert.Equal([1], reports.Where(r => r.Stage == GenerationStage.Decode).Select(r => r.Step));
    }

    [Fact]
    public async Task Seed_prompt_and_t5_each_change_the_image()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        byte[] baseline = (await pipeline.GenerateAsync(Request())).Images[0];
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { Seed = 43 })).Images[0]);
        Assert.NotEqual(baseline, (await pipeline.GenerateAsync(Request() with { Prompts = ["a blue square"] })).Images[0]);
        ImageGeneration noT5 = await pipeline.GenerateAsync(Request() with { Extras = new SD3Extras { SkipT5 = true } });
        Assert.Equal(new SD3Extras { SkipT5 = true }, noT5.Settings.Extras);
        Assert.NotEqual(baseline, noT5.Images[0]);
    }

    [Fact]
    public void Without_t5_the_text_is_the_clip_rows_then_77_zero_rows_of_the_joint_width()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        int width = pipeline.TransformerConfig.JointAttentionDim;
        using var withT5 = (SD3Conditioning)pipeline.EncodePrompts(Request() with { Extras = new SD3Extras { MaxSequenceLength = 16 } });
        using var noT5 = (SD3Conditioning)pipeline.EncodePrompts(Request() with { Extras = new SD3Extras { MaxSequenceLength = 16, SkipT5 = true } });
        using var scope = NewDisposeScope();

        // As diffusers without text_encoder_3: zeros [B, 77, joint_attention_dim], 77 whatever max_sequence_length says.
        Assert.Equal([2, 77 + 16, width], withT5.EncoderHiddenStates.shape);
        Assert.Equal([2, 77 + 77, width], noT5.EncoderHiddenStates.shape);
        Assert.True(TensorAssert.Same(withT5.EncoderHiddenStates.narrow(1, 0, 77), noT5.EncoderHiddenStates.narrow(1, 0, 77)), "the CLIP rows do not depend on T5");
        Assert.True(TensorAssert.Same(zeros(2, 77, width), noT5.EncoderHiddenStates.narrow(1, 77, 77)), "T5's place holds zeros");
        Assert.False(TensorAssert.Same(zeros(2, 16, width), withT5.EncoderHiddenStates.narrow(1, 77, 16)), "T5 rows should not be zeros");
        Assert.True(TensorAssert.Same(withT5.PooledProjections, noT5.PooledProjections), "pooled is CLIP's alone");
    }

    /// <summary>Issue 16: as diffusers' <c>_get_clip_prompt_embeds</c>, clip_skip N takes <c>hidden_states[-(N + 2)]</c> of both CLIP towers.</summary>
    [Fact]
    public void Clip_skip_takes_both_clip_towers_earlier_hidden_states_and_leaves_pooled_and_t5_alone()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        ImageRequest Skipping(int? skip) => Request() with { GuidanceScale = 1, Extras = new SD3Extras { MaxSequenceLength = 16, ClipSkip = skip } };
        using var standard = (SD3Conditioning)pipeline.EncodePrompts(Skipping(null));
        using var skipped = (SD3Conditioning)pipeline.EncodePrompts(Skipping(1));
        using var clipL = Ras.Models.Clip.CLIPTextModelWithProjection.FromPretrained(Path.Combine(folder, "text_encoder"));
        using var clipG = Ras.Models.Clip.CLIPTextModelWithProjection.FromPretrained(Path.Combine(folder, "text_encoder_2"));
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        Tensor Ids(string tokenizer) => PromptIds.Clip(Ras.Tokenizers.Clip.CLIPTokenizer.FromFolder(Path.Combine(folder, tokenizer)), ["a red circle"], null, null);
        var l = clipL.Forward(Ids("tokenizer"));
        var g = clipG.Forward(Ids("tokenizer_2"));
        Tensor expected = cat([l.HiddenStates[^3], g.HiddenStates[^3]], -1);                         // [1, 77, H_L + H_G]
        Tensor clipRows = skipped.EncoderHiddenStates.narrow(1, 0, 77).narrow(2, 0, expected.shape[2]);
        Assert.True(TensorAssert.Same(expected, clipRows), "clip_skip 1 = hidden_states[-3] of both towers");
        Tensor penultimate = cat([l.HiddenStates[^2], g.HiddenStates[^2]], -1);
        Assert.True(TensorAssert.Same(penultimate, standard.EncoderHiddenStates.narrow(1, 0, 77).narrow(2, 0, penultimate.shape[2])), "the default is hidden_states[-2]");
        Assert.True(TensorAssert.Same(standard.EncoderHiddenStates.narrow(1, 77, 16), skipped.EncoderHiddenStates.narrow(1, 77, 16)), "T5 rows do not change");
        Assert.True(TensorAssert.Same(standard.PooledProjections, skipped.PooledProjections), "the pooled (projected EOS) vectors do not change");
    }

    [Theory]
    [InlineData(-1, "must be at least 0")]
    [InlineData(2, "must be in [0, 1] for a CLIP text encoder of 2 layers")]
    public async Task Clip_skip_out_of_range_names_the_option(int skip, string message)
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        var error = await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(Request() with { Extras = new SD3Extras { ClipSkip = skip } }));
        Assert.Equal("clip-skip", error.Option);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clip_skip_is_in_the_resolved_settings_and_the_parameters()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        ImageGeneration result = await pipeline.GenerateAsync(Request(2) with { Extras = new SD3Extras { ClipSkip = 1 } });
        Assert.Equal(new SD3Extras { MaxSequenceLength = 256, ClipSkip = 1 }, result.Settings.Extras);
        Assert.Equal([("Max sequence length", "256"), ("Clip skip", "1")], result.Settings.Extras!.Parameters());
    }

    /// <summary>Issue 16: the resolved settings left start/end step and reset steps null.</summary>
    [Fact]
    public async Task Resolved_settings_hold_the_ras_defaults_the_run_used()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        ImageGeneration result = await pipeline.GenerateAsync(Request(8, StableDiffusion3Pipeline.RecommendedRas));
        RasOptions ras = result.Settings.Ras;
        Assert.Equal((4, 8), (ras.SchedulerStartStep, ras.SchedulerEndStep));
        Assert.Equal([3, 5], ras.ErrorResetSteps!);          // ⌊12·8/30⌋, ⌊22·8/30⌋
        Assert.Equal(StableDiffusion3Pipeline.RecommendedRas.SampleRatio, ras.SampleRatio);
        var plan = RasPlan.Create(ras, 8, 4, 4);
        Assert.Equal(result.Steps.Select(s => s.Kind), Enumerable.Range(0, 8).Select(plan.KindOf));
    }

    /// <summary>Issue 16: with a <see cref="Progress{T}"/> the last step's report could arrive after the task completed.</summary>
    [Fact]
    public async Task Synchronous_progress_has_every_report_when_the_task_completes()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        var reports = new List<GenerationProgress>();
        await pipeline.GenerateAsync(Request(5), new SynchronousProgress<GenerationProgress>(reports.Add));
        Assert.Equal(Enumerable.Range(1, 5), reports.Where(r => r.Stage == GenerationStage.Denoise).Select(r => r.Step));
        Assert.Equal(GenerationStage.Decode, reports[^1].Stage);
    }

    [Fact]
    public async Task Ras_ratio_one_is_dense_and_ras_computes_fewer_tokens()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        ImageGeneration dense = await pipeline.GenerateAsync(Request(8));
        ImageGeneration ratioOne = await pipeline.GenerateAsync(Request(8, StableDiffusion3Pipeline.RecommendedRas with { SampleRatio = 1.0 }));
        ImageGeneration ras = await pipeline.GenerateAsync(Request(8, StableDiffusion3Pipeline.RecommendedRas with { SchedulerStartStep = 2, ErrorResetSteps = [] }));

        Assert.Equal(dense.Images[0], ratioOne.Images[0]);
        Assert.All(dense.Steps, s => Assert.Equal(48, s.ComputedTokens));
        // Official split of the 24 skipped tokens: int(24·0.7) + int(24·0.3) = 16 + 7, so 25 of 48 are computed.
        Assert.Equal([48, 48, 25, 25, 25, 25, 25, 25], ras.Steps.Select(s => s.ComputedTokens));
        Assert.Equal(dense.Steps.Take(2).Select(s => s.ComputedTokens), ras.Steps.Take(2).Select(s => s.ComputedTokens));
        Assert.NotEqual(dense.Images[0], ras.Images[0]);
        Assert.Equal(48, ras.TokenComputeCounts[0].Length);
    }

    [Fact]
    public async Task Ras_latents_equal_dense_latents_until_the_first_ras_step()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        var dense = new List<GenerationProgress>();
        var ras = new List<GenerationProgress>();
        await pipeline.GenerateAsync(Request(8) with { Preview = true }, new SynchronousRecorder(dense));
        await pipeline.GenerateAsync(Request(8, StableDiffusion3Pipeline.RecommendedRas with { SchedulerStartStep = 3, ErrorResetSteps = [] }) with { Preview = true },
            new SynchronousRecorder(ras));
        byte[][] Previews(List<GenerationProgress> reports) => reports.Where(r => r.Stage == GenerationStage.Denoise).Select(r => r.Preview!.Rgb).ToArray();
        byte[][] d = Previews(dense), r = Previews(ras);
        Assert.Equal(8, d.Length);
        for (int step = 0; step < 3; step++)
        {
            Assert.True(d[step].AsSpan().SequenceEqual(r[step]), $"step {step} runs dense in both");
        }

        Assert.False(d[3].AsSpan().SequenceEqual(r[3]), "step 3 is the first RAS step");
    }

    [Fact]
    public async Task Batch_writes_images_in_prompt_order_with_one_noise_draw()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        ImageGeneration batch = await pipeline.GenerateAsync(Request() with { Prompts = ["a red circle", "a blue square"], ImagesPerPrompt = 2 });
        Assert.Equal(4, batch.Images.Count);
        Assert.Equal(4, batch.TokenComputeCounts.Length);
        Assert.Equal(4, batch.Images.Distinct(new BytesComparer()).Count());
    }

    [Fact]
    public async Task Image_to_image_runs_the_strengths_share_and_strength_one_equals_text_to_image()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        var input = new RgbImage(Enumerable.Range(0, 40 * 30 * 3).Select(i => (byte)(i * 7 % 256)).ToArray(), 40, 30);
        ImageGeneration text = await pipeline.GenerateAsync(Request(10));
        ImageGeneration full = await pipeline.GenerateAsync(Request(10) with { InitImage = input, Strength = 1.0 });
        ImageGeneration half = await pipeline.GenerateAsync(Request(10) with { InitImage = input, Strength = 0.45 });

        Assert.Equal(text.Images[0], full.Images[0]);
        Assert.Equal(10, full.Steps.Count);
        // diffusers get_timesteps: t_start = int(max(10 − min(10·0.45, 10), 0)) = int(5.5) = 5, so 5 of 10 steps run.
        Assert.Equal((10, 5), (half.Settings.Steps, half.Settings.StepsRun));
        Assert.Equal(5, half.Steps.Count);
        Assert.NotEqual(text.Images[0], half.Images[0]);
    }

    [Fact]
    public async Task Low_strength_stays_close_to_the_vae_round_trip_of_the_input()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        var input = new RgbImage(Enumerable.Range(0, 32 * 24 * 3).Select(i => (byte)((i / 3 % 32) * 8)).ToArray(), 32, 24);
        byte[] roundTrip = VaeRoundTrip(input);
        ImageGeneration low = await pipeline.GenerateAsync(Request(20) with { InitImage = input, Strength = 0.1 });
        ImageGeneration text = await pipeline.GenerateAsync(Request(20));
        double lowPsnr = Ras.Evaluation.ImageMetrics.Psnr(roundTrip, low.Images[0]);
        double textPsnr = Ras.Evaluation.ImageMetrics.Psnr(roundTrip, text.Images[0]);
        output.WriteLine($"PSNR to the input's VAE round trip: strength 0.1 → {lowPsnr:0.0} dB, text-to-image → {textPsnr:0.0} dB");
        Assert.True(lowPsnr > textPsnr + 3, $"strength 0.1 ({lowPsnr:0.0} dB) should stay much closer to the input than text-to-image ({textPsnr:0.0} dB)");
    }

    [Fact]
    public async Task Strength_that_leaves_no_step_is_an_error()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        var input = new RgbImage(new byte[32 * 24 * 3], 32, 24);
        var error = await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(Request(10) with { InitImage = input, Strength = 1e-17 }));
        Assert.Equal("strength", error.Option);
        Assert.Contains("no step", error.Message, StringComparison.Ordinal);
    }

    private byte[] VaeRoundTrip(RgbImage image)
    {
        using var vae = Ras.Models.Vae.AutoencoderKL.FromPretrained(Path.Combine(folder, "vae"));
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var inference = TorchSharp.torch.inference_mode();
        using var posterior = vae.Encode(ImageTensors.FromRgb(image, image.Width, image.Height));
        return ImageTensors.ToRgbBytes(vae.Decode(posterior.Mean)[0]);
    }

    [Fact]
    public async Task Invalid_requests_name_the_option()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        Assert.Equal("width", (await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(Request() with { Width = 30 }))).Option);
        Assert.Equal("max-sequence-length", (await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(Request() with { Extras = new SD3Extras { MaxSequenceLength = 513 } }))).Option);
        Assert.Equal("strength", (await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(Request() with { InitImage = new RgbImage(new byte[12], 2, 2), Strength = 0 }))).Option);
        Assert.Equal("prompt", (await Assert.ThrowsAsync<OptionsException>(() => pipeline.GenerateAsync(Request() with { Prompts = [] }))).Option);
    }

    [Fact]
    public async Task Cancellation_stops_between_steps()
    {
        using var pipeline = StableDiffusion3Pipeline.Open(folder);
        using var cancel = new CancellationTokenSource();
        var progress = new SynchronousRecorder([], r =>
        {
            if (r.Stage == GenerationStage.Denoise && r.Step == 2)
            {
                cancel.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipeline.GenerateAsync(Request(), progress, cancel.Token));
    }

    private sealed class SynchronousRecorder(List<GenerationProgress> reports, Action<GenerationProgress>? onReport = null) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value)
        {
            reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    private sealed class BytesComparer : IEqualityComparer<byte[]>
    {
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => obj.Length;
    }
}

using Ras.Errors;
using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Sampling;

/// <summary>Lumina's parameterisation of the shared sampler: convention, pipeline constants, conditioning (RAS runs: the conformance suite).</summary>
public sealed class LuminaSamplingTests
{
    private static readonly FlowMatchEulerDiscreteScheduler Scheduler = new(new FlowMatchEulerDiscreteSchedulerConfig());

    [Fact]
    public void Lumina_guides_the_first_three_channels_of_the_conditional_first_batch_and_negates()
    {
        using var scope = NewDisposeScope();
        Tensor output = randn(2, 8, 3, 3);                     // [cond, uncond] × 2C channels (learned sigma)
        Tensor cond = output[0].narrow(0, 0, 4);
        Tensor uncond = output[1].narrow(0, 0, 4);
        Tensor velocity = SamplingConvention.LuminaNext.Velocity(output, latentChannels: 4, copies: 2, guidanceScale: 4.0);

        Tensor guided = uncond + ((cond - uncond) * 4.0f);
        Tensor expected = cat([guided.narrow(0, 0, 3), cond.narrow(0, 3, 1)], 0).neg().unsqueeze(0);
        TensorAssert.Close(expected, velocity, "velocity", 1e-6);
    }

    [Fact]
    public void Sd3_guides_every_channel_of_the_unconditional_first_batch()
    {
        using var scope = NewDisposeScope();
        Tensor output = randn(2, 4, 3, 3);                     // [uncond, cond]
        Tensor velocity = SamplingConvention.StableDiffusion3.Velocity(output, latentChannels: 4, copies: 2, guidanceScale: 7.0);
        TensorAssert.Close((output[0] + ((output[1] - output[0]) * 7.0f)).unsqueeze(0), velocity, "velocity", 1e-6);
        Assert.True(TensorAssert.Same(output, SamplingConvention.StableDiffusion3.Velocity(output, 4, copies: 1, guidanceScale: 7.0)));
        Assert.Throws<ArgumentException>(() => SamplingConvention.StableDiffusion3.Velocity(output, 5, copies: 1, guidanceScale: 1.0));
    }

    [Fact]
    public void Lumina_time_runs_from_noise_to_data_in_float32()
    {
        // diffusers: float32(1 − float32(t / 1000)); values from the dense_denoise_cfg4_16x16 case.
        Assert.Equal(0.142714262008667f, SamplingConvention.LuminaNext.ModelTimestep(857.2857666015625f, 1000));
        Assert.Equal(0.9990000128746033f, SamplingConvention.LuminaNext.ModelTimestep(1f, 1000));
        Assert.Equal(0f, SamplingConvention.LuminaNext.ModelTimestep(1000f, 1000));
        Assert.Equal(857.2857666015625f, SamplingConvention.StableDiffusion3.ModelTimestep(857.2857666015625f, 1000));
    }

    [Fact]
    public void Pipeline_constants_follow_the_resolution_and_the_watershed()
    {
        var config = LuminaTinyModels.Config();                // sample_size 8 → default image 64 px
        using var model = new LuminaNextDiT2DModel(config);
        using var conditioning = LuminaTinyModels.Conditioning(config, 1, guidance: false);

        var denoiser = new LuminaDenoiser(model, conditioning);
        Assert.Equal(64, denoiser.DefaultImageSize);
        Assert.Equal(16, denoiser.BaseSequenceLength);         // (64 // 16)²
        Assert.Equal(2.0, denoiser.ScalingFactor(16, 16), 12);
        Assert.Equal(2.0, denoiser.ScalingFactor(8, 32), 12);
        Assert.Equal(1.0, denoiser.ScalingFactor(8, 8), 12);
        Assert.Equal(new LuminaRopeScaling(2.0, 1.0), denoiser.RopeScaling(0.999f, 16, 16));

        var ntk = new LuminaDenoiser(model, conditioning, new LuminaSamplingOptions { ScalingWatershed = 0.3, ProportionalAttention = false });
        Assert.Null(ntk.BaseSequenceLength);
        Assert.Equal(new LuminaRopeScaling(2.0, 1.0), ntk.RopeScaling(0.29f, 16, 16));
        Assert.Equal(new LuminaRopeScaling(1.0, 2.0), ntk.RopeScaling(0.3f, 16, 16));

        using var tiny = new LuminaNextDiT2DModel(config with { SampleSize = 2 });
        var error = Assert.Throws<OptionsException>(() => new LuminaDenoiser(tiny, conditioning));
        Assert.Equal("proportional-attn", error.Option);
    }

    [Fact]
    public void Conditioning_puts_the_caption_first_and_broadcasts_one_prompt()
    {
        using var scope = NewDisposeScope();
        Tensor captions = randn(1, 5, 12);
        Tensor negatives = randn(1, 5, 12);
        Tensor mask = tensor(new long[] { 1, 1, 1, 0, 0 }).unsqueeze(0);
        Tensor negativeMask = tensor(new long[] { 1, 0, 0, 0, 0 }).unsqueeze(0);
        using var conditioning = LuminaConditioning.Create(captions, mask, negatives, negativeMask, batch: 2, guidance: true);

        Assert.Equal(2, conditioning.GuidanceCopies);
        Assert.Equal([4, 5, 12], conditioning.Captions.shape);
        Assert.Equal(ScalarType.Int64, conditioning.Masks.dtype);
        Assert.True(TensorAssert.Same(captions[0], conditioning.Captions[1]));
        Assert.True(TensorAssert.Same(negatives[0], conditioning.Captions[2]));
        Assert.True(TensorAssert.Same(negativeMask[0], conditioning.Masks[3]));
    }

    [Theory]
    [InlineData("mask_length", "prompt_attention_mask")]
    [InlineData("empty_mask", "prompt_attention_mask")]
    [InlineData("no_negative", "guidance")]
    [InlineData("negative_shape", "negative_prompt_embeds")]
    public void Conditioning_rejects_inputs_that_do_not_fit(string problem, string option)
    {
        using var scope = NewDisposeScope();
        Tensor captions = randn(1, 5, 12);
        Tensor mask = ones(1, 5, ScalarType.Int64);
        var error = Assert.Throws<OptionsException>(() => problem switch
        {
            "mask_length" => LuminaConditioning.Create(captions, ones(1, 4, ScalarType.Int64), null, null, 1, guidance: false),
            "empty_mask" => LuminaConditioning.Create(captions, zeros(1, 5, ScalarType.Int64), null, null, 1, guidance: false),
            "no_negative" => LuminaConditioning.Create(captions, mask, null, null, 1, guidance: true),
            _ => LuminaConditioning.Create(captions, mask, randn(1, 5, 10), mask, 1, guidance: true),
        });
        Assert.Equal(option, error.Option);
    }
}

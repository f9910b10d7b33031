using Ras.Errors;
using Ras.Models.Flux;
using Ras.Pipelines.Flux;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Pipelines.Flux;

public sealed class FluxDenoiserTests
{
    [Fact]
    public void Predict_packs_runs_the_model_on_the_grid_ids_and_unpacks()
    {
        var config = FluxTinyModels.Config();
        using var model = FluxTinyModels.Model(config);
        using var conditioning = FluxTinyModels.Conditioning(config, 2);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var denoiser = new FluxDenoiser(model, conditioning);
        Assert.Equal(2, denoiser.PatchSize);
        Assert.Same(SamplingConvention.Flux, denoiser.Convention);
        Assert.Equal(1, denoiser.GuidanceCopies);

        Tensor latents = FluxTinyModels.Latents(config, 2, 6, 10);
        Tensor sigma = tensor(new[] { 0.8f, 0.8f });
        Tensor predicted = denoiser.Predict(latents, sigma, null);
        Assert.Equal([2, 4, 6, 10], predicted.shape);
        Tensor direct = model.Forward(FluxLatents.Pack(latents), conditioning.PromptEmbeds, conditioning.PooledProjections, sigma,
            conditioning.Guidance, FluxLatents.ImageIds(3, 5), conditioning.TextIds);
        Assert.True(TensorAssert.Same(FluxLatents.Unpack(direct, 6, 10), predicted));
    }

    /// <summary>RAS token k of the sampler is packed token k: its 2×2 latent patch at row k / (W/2), column k % (W/2).</summary>
    [Fact]
    public void Ras_tokens_are_the_packed_tokens_in_row_major_order()
    {
        var config = FluxTinyModels.Config(guidance: false);
        using var model = FluxTinyModels.Model(config);
        using var conditioning = FluxTinyModels.Conditioning(config, 1);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var denoiser = new FluxDenoiser(model, conditioning);
        Tensor latents = FluxTinyModels.Latents(config, 1, 6, 10);              // 3×5 packed grid
        Tensor sigma = tensor(new[] { 0.5f });
        Tensor dense = denoiser.Predict(latents, sigma, null);
        using var caches = new KeyValueCaches();
        using (var fill = new RasRouting(caches, null, 15))
        {
            denoiser.Predict(latents, sigma, fill);
        }

        long[] active = [1, 7, 13];
        Tensor sparse;
        using (var routing = new RasRouting(caches, tensor(active, [1, 3]), 15))
        {
            sparse = denoiser.Predict(latents, sigma, routing);
        }

        for (int y = 0; y < 6; y++)
        {
            for (int x = 0; x < 10; x++)
            {
                long token = (y / 2 * 5) + (x / 2);
                Tensor pixel = sparse[0, .., y, x];
                if (active.Contains(token))
                {
                    TensorAssert.Close(dense[0, .., y, x], pixel, $"pixel ({y}, {x}) of token {token}", 1e-5);
                }
                else
                {
                    Assert.True(pixel.eq(0).all().item<bool>(), $"pixel ({y}, {x}) of cached token {token} must be zero");
                }
            }
        }
    }

    [Fact]
    public void Conditioning_that_does_not_fit_the_model_is_rejected()
    {
        var dev = FluxTinyModels.Config(guidance: true);
        using var model = new FluxTransformer2DModel(dev);
        using var scope = NewDisposeScope();
        using var noGuidance = FluxConditioning.Create(randn(1, 4, 12), randn(1, 10), null, null, 1, false, null);
        Assert.Equal("guidance", Assert.Throws<OptionsException>(() => new FluxDenoiser(model, noGuidance)).Option);
        using var wide = FluxConditioning.Create(randn(1, 4, 13), randn(1, 10), null, null, 1, false, 3.5);
        Assert.Equal("prompt_embeds", Assert.Throws<OptionsException>(() => new FluxDenoiser(model, wide)).Option);
    }

    /// <summary>The shared sampler with a RAS session on unpacked Flux latents: sparse steps happen, the result stays close to dense.</summary>
    [Fact]
    public void Sampling_with_ras_runs_sparse_steps_and_stays_near_the_dense_result()
    {
        var config = FluxTinyModels.Config();
        using var model = FluxTinyModels.Model(config);
        using var conditioning = FluxTinyModels.Conditioning(config, 1);
        using Tensor latents = FluxTinyModels.Latents(config, 1, 8, 12);
        var schedulerConfig = new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = true };
        var scheduler = new FlowMatchEulerDiscreteScheduler(schedulerConfig);
        FlowMatchSchedule schedule = scheduler.SetTimesteps(12, FluxSchedule.Sigmas(12), FluxSchedule.Mu(24, schedulerConfig));
        var options = new SamplerOptions { Steps = 12, CfgScale = 1 };
        using Tensor dense = FlowMatchEulerSampler.Sample(new FluxDenoiser(model, conditioning), schedule, latents, options);
        using var session = new RasSession(new RasOptions { SampleRatio = 0.5, SchedulerStartStep = 4, ErrorResetSteps = [8] });
        using Tensor ras = FlowMatchEulerSampler.Sample(new FluxDenoiser(model, conditioning), schedule, latents, options, session);
        var sparse = session.Records.Where(r => r.Kind == RasStepKind.Sparse).ToList();
        Assert.NotEmpty(sparse);
        Assert.All(sparse, r => Assert.Equal(12, r.ComputedTokens));               // half of the 4×6 packed grid
        Assert.True(ras.isfinite().all().item<bool>());
        double difference = TensorAssert.MaxAbsDiff(dense, ras);
        Assert.InRange(difference, 1e-6, 0.5 * dense.abs().max().item<float>());  // RAS changes the result, but not wildly
    }
}

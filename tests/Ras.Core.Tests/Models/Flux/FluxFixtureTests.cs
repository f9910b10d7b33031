using System.Text.Json;
using Ras.IO.Safetensors;
using Ras.Models.Flux;
using Ras.Pipelines.Flux;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Flux;

/// <summary>Every case under <c>&lt;fixtures&gt;/flux/</c>: one forward with every intermediate, and full dense loops.</summary>
[Trait("Category", "Fixtures")]
public sealed class FluxFixtureTests(ITestOutputHelper output)
{
    private readonly List<(string Name, double Relative, double Absolute)> errors = [];

    [FixtureCases("flux", "forward")]
    public void Flux_forward(string caseName)
    {
        using var fixture = FixtureCase.Open("flux", caseName);
        using var model = FluxTransformer2DModel.FromPretrained(fixture.PathOf("transformer"));
        AssertConfigMatchesCase(model.Config, fixture.Json.GetProperty("model").GetProperty("config"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();

        // The inputs as the case describes them: packed latents are the packing of the unpacked ones, ids as the pipeline builds them.
        Tensor unpacked = UnpackedLatents(inputs, fixture);
        Tensor latents = inputs.Read("latents");
        Assert.True(TensorAssert.Same(latents, FluxLatents.Pack(unpacked)), "inputs.latents is not Pack(inputs.latents_unpacked)");
        AssertIds(inputs, unpacked);

        var taps = new Dictionary<string, Tensor>();
        Tensor result = model.Forward(latents, inputs.Read("prompt_embeds"), inputs.Read("pooled_prompt_embeds"), inputs.Read("timestep"),
            inputs.Contains("guidance") ? inputs.Read("guidance") : null, inputs.Read("img_ids"), inputs.Read("txt_ids"),
            routing: null, tap: (name, t) => taps["debug_" + name] = t.clone());

        Check(expected.Read("output"), result, "output");
        if (expected.Contains("output_unpacked"))
        {
            Check(expected.Read("output_unpacked"), FluxLatents.Unpack(result, unpacked.shape[2], unpacked.shape[3]), "output_unpacked");
        }

        var debugNames = expected.Entries.Keys.Where(k => k.StartsWith("debug_", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(debugNames);
        foreach (string name in debugNames)
        {
            Assert.True(taps.ContainsKey(name), $"the model produced no intermediate '{name}'");
            Check(expected.Read(name), taps[name], name);
        }

        Report();
    }

    [FixtureCases("flux", "denoise")]
    public void Flux_denoise(string caseName)
    {
        using var fixture = FixtureCase.Open("flux", caseName);
        JsonElement json = fixture.Json;
        using var model = FluxTransformer2DModel.FromPretrained(fixture.PathOf("transformer"));
        AssertConfigMatchesCase(model.Config, json.GetProperty("model").GetProperty("config"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        var schedulerConfig = FlowMatchEulerDiscreteSchedulerConfig.Load(fixture.PathOf("scheduler/scheduler_config.json"));
        JsonElement schedulerJson = json.GetProperty("scheduler");
        Assert.Equal(schedulerJson.GetProperty("use_dynamic_shifting").GetBoolean(), schedulerConfig.UseDynamicShifting);
        int steps = json.GetProperty("num_inference_steps").GetInt32();
        using Tensor unpacked = UnpackedLatents(inputs, fixture);
        long imageTokens = unpacked.shape[2] / 2 * (unpacked.shape[3] / 2);
        Assert.Equal(json.GetProperty("num_image_tokens").GetInt64(), imageTokens);
        using (var scope = NewDisposeScope())
        {
            Assert.True(TensorAssert.Same(inputs.Read("latents"), FluxLatents.Pack(unpacked)), "inputs.latents is not Pack(inputs.latents_unpacked)");
        }

        AssertIds(inputs, unpacked);

        // 1. The schedule, bit for bit: FluxPipeline's sigmas and μ, the scheduler's (dynamic) shift in float32.
        double mu = FluxSchedule.Mu(imageTokens, schedulerConfig);
        Assert.Equal(schedulerJson.GetProperty("mu").GetDouble(), mu);
        var scheduler = new FlowMatchEulerDiscreteScheduler(schedulerConfig);
        FlowMatchSchedule schedule = scheduler.SetTimesteps(steps, FluxSchedule.Sigmas(steps), mu);
        using (var scope = NewDisposeScope())
        {
            Assert.Equal(expected.Read("sigmas").data<float>().ToArray(), schedule.Sigmas);
            Assert.Equal(expected.Read("timesteps").data<float>().ToArray(), schedule.Timesteps);
        }

        Assert.Equal(schedulerJson.GetProperty("sigmas").EnumerateArray().Select(e => (float)e.GetDouble()), schedule.Sigmas);

        // The model gets σ = t/1000 and multiplies by 1000 again: the embedding must see exactly the scheduler's timestep.
        JsonElement[] timeArgs = [.. json.GetProperty("transformer_timestep_args").EnumerateArray()];
        Assert.Equal(steps, timeArgs.Length);
        for (int i = 0; i < steps; i++)
        {
            float modelTime = SamplingConvention.Flux.ModelTimestep(schedule.Timesteps[i], schedule.NumTrainTimesteps);
            Assert.Equal(schedule.Timesteps[i], (float)(modelTime * 1000.0));
            Assert.Equal(schedule.Timesteps[i], (float)(timeArgs[i][0].GetDouble() * 1000.0));
        }

        // 2. Conditioning: the embedded guidance exactly when the model has a guidance embedder, as the pipeline passes it.
        double? guidance = model.Config.GuidanceEmbeds ? json.GetProperty("guidance_scale").GetDouble() : null;
        foreach (JsonElement arg in json.GetProperty("transformer_guidance_args").EnumerateArray())
        {
            Assert.Equal(guidance, arg.ValueKind == JsonValueKind.Null ? null : arg[0].GetDouble());
        }

        bool trueCfg = json.GetProperty("true_cfg").GetBoolean();
        using var conditioning = FluxConditioning.Create(inputs.Read("prompt_embeds"), inputs.Read("pooled_prompt_embeds"),
            trueCfg ? inputs.Read("negative_prompt_embeds") : null, trueCfg ? inputs.Read("negative_pooled_prompt_embeds") : null,
            (int)unpacked.shape[0], trueCfg, guidance);
        var options = new SamplerOptions { Steps = steps, CfgScale = trueCfg ? json.GetProperty("true_cfg_scale").GetDouble() : 1.0 };

        // 3. The loop through the shared sampler on unpacked latents, recording every model call.
        using var recorder = new RecordingDenoiser(new FluxDenoiser(model, conditioning));
        using Tensor final = FlowMatchEulerSampler.Sample(recorder, schedule, unpacked, options);
        Assert.Equal(steps, recorder.Outputs.Count);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            Check(expected.Read($"step_{i}_noise_pred"), FluxLatents.Pack(recorder.Outputs[i]), $"step_{i}_noise_pred");
            if (i + 1 < steps)
            {
                Check(expected.Read($"step_{i}_latents"), FluxLatents.Pack(recorder.Inputs[i + 1]), $"step_{i}_latents");
            }
        }

        using (var scope = NewDisposeScope())
        {
            Check(expected.Read($"step_{steps - 1}_latents"), FluxLatents.Pack(final), $"step_{steps - 1}_latents");
            Check(expected.Read("latents"), FluxLatents.Pack(final), "latents");
            if (expected.Contains("latents_unpacked"))
            {
                Check(expected.Read("latents_unpacked"), final, "latents_unpacked");
            }
        }

        Report();
    }

    /// <summary>Checks a tensor with the suite's comparer and records its error for the report.</summary>
    private void Check(Tensor expected, Tensor actual, string name)
    {
        TensorAssert.Close(expected, actual, name);
        double absolute = TensorAssert.MaxAbsDiff(expected, actual);
        double scale;
        using (Tensor magnitude = expected.abs().max())
        {
            scale = magnitude.to_type(ScalarType.Float64).item<double>();
        }

        errors.Add((name, scale == 0 ? absolute : absolute / scale, absolute));
    }

    private void Report()
    {
        foreach (var (name, relative, absolute) in errors)
        {
            output.WriteLine($"{name}: max|Δ| = {absolute:G3}, relative {relative:G3}");
        }

        var worst = errors.MaxBy(e => e.Relative);
        output.WriteLine($"{errors.Count} tensors within tolerance; worst max|Δ|/max|expected| = {worst.Relative:G3} ({worst.Name})");
    }

    /// <summary>The case's unpacked latents <c>[B, C, H, W]</c>: as stored, or the packed ones unpacked to <c>latent_shape_unpacked</c>.</summary>
    private static Tensor UnpackedLatents(SafetensorsFile inputs, FixtureCase fixture)
    {
        if (inputs.Contains("latents_unpacked"))
        {
            return inputs.Read("latents_unpacked");
        }

        long[] shape = [.. fixture.Json.GetProperty("latent_shape_unpacked").EnumerateArray().Select(e => e.GetInt64())];
        using Tensor packed = inputs.Read("latents");
        return FluxLatents.Unpack(packed, shape[2], shape[3]);
    }

    /// <summary>The ids in the inputs are those <see cref="FluxLatents"/> builds for the latent size and text length.</summary>
    private static void AssertIds(SafetensorsFile inputs, Tensor unpacked)
    {
        using var scope = NewDisposeScope();
        long rows = unpacked.shape[2] / 2;
        long cols = unpacked.shape[3] / 2;
        Assert.True(TensorAssert.Same(inputs.Read("img_ids"), FluxLatents.ImageIds(rows, cols)), "img_ids differ from FluxLatents.ImageIds");
        long textLength = inputs.Read("prompt_embeds").shape[1];
        Assert.True(TensorAssert.Same(inputs.Read("txt_ids"), FluxLatents.TextIds(textLength)), "txt_ids differ from FluxLatents.TextIds");
    }

    /// <summary>The config read from <c>transformer/config.json</c> is the one the case says it used.</summary>
    private static void AssertConfigMatchesCase(FluxTransformerConfig config, JsonElement json)
    {
        Assert.Equal(json.GetProperty("num_layers").GetInt32(), config.NumLayers);
        Assert.Equal(json.GetProperty("num_single_layers").GetInt32(), config.NumSingleLayers);
        Assert.Equal(json.GetProperty("attention_head_dim").GetInt32(), config.AttentionHeadDim);
        Assert.Equal(json.GetProperty("num_attention_heads").GetInt32(), config.NumAttentionHeads);
        Assert.Equal(json.GetProperty("guidance_embeds").GetBoolean(), config.GuidanceEmbeds);
        Assert.Equal(json.GetProperty("axes_dims_rope").EnumerateArray().Select(e => e.GetInt32()), config.AxesDimsRope);
    }
}

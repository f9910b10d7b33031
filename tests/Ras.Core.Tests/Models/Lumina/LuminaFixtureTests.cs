using System.Globalization;
using System.Text.Json;
using Ras.IO.Safetensors;
using Ras.Models.Lumina;
using Ras.Pipelines.Lumina;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Lumina;

/// <summary>Every case under <c>&lt;fixtures&gt;/lumina/</c>, dispatched on its <c>kind</c>.</summary>
[Trait("Category", "Fixtures")]
public sealed class LuminaFixtureTests(ITestOutputHelper output)
{
    private readonly List<(string Name, double Relative)> errors = [];

    [FixtureCases("lumina")]
    public void Lumina(string caseName)
    {
        using var fixture = FixtureCase.Open("lumina", caseName);
        switch (fixture.Kind)
        {
            case "forward":
                Forward(fixture);
                break;
            case "denoise":
                Denoise(fixture);
                break;
            default:
                throw new XunitException($"{caseName}: unknown fixture kind '{fixture.Kind}'");
        }

        var worst = errors.MaxBy(e => e.Relative);
        output.WriteLine($"{errors.Count} tensors within tolerance; worst max|Δ|/max|expected| = {worst.Relative:G3} ({worst.Name})");
    }

    private void Forward(FixtureCase fixture)
    {
        using var model = LuminaNextDiT2DModel.FromPretrained(fixture.PathOf("transformer"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        JsonElement rope = fixture.Json.GetProperty("rope");
        var scaling = new LuminaRopeScaling(rope.GetProperty("linear_factor").GetDouble(), rope.GetProperty("ntk_factor").GetDouble());
        int? baseLength = BaseSequenceLength(fixture.Json.GetProperty("cross_attention_kwargs"));

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var taps = new Dictionary<string, Tensor>();
        Tensor result = model.Forward(inputs.Read("latents"), inputs.Read("timestep"), inputs.Read("prompt_embeds"),
            inputs.Read("prompt_attention_mask"), scaling, baseLength, routing: null, tap: (name, t) => taps["debug_" + name] = t.clone());

        Check(expected.Read("output"), result, "output");
        var debugNames = expected.Entries.Keys.Where(k => k.StartsWith("debug_", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(debugNames);
        foreach (string name in debugNames)
        {
            Assert.True(taps.ContainsKey(name), $"the model produced no intermediate '{name}'");
            Check(expected.Read(name), taps[name], name);
        }
    }

    /// <summary>
    /// The same forward in float64 (diffusers' float32 spots kept), as the reference ran: agreement far below float32
    /// noise shows the remaining forward error is rounding, not a semantic difference.
    /// </summary>
    [FixtureCases("lumina", "forward")]
    public void Lumina_forward_in_float64(string caseName)
    {
        using var fixture = FixtureCase.Open("lumina", caseName);
        using var model = LuminaNextDiT2DModel.FromPretrained(fixture.PathOf("transformer"));
        model.to(ScalarType.Float64);
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        JsonElement rope = fixture.Json.GetProperty("rope");
        var scaling = new LuminaRopeScaling(rope.GetProperty("linear_factor").GetDouble(), rope.GetProperty("ntk_factor").GetDouble());

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        Tensor result = model.Forward(inputs.Read("latents", ScalarType.Float64), inputs.Read("timestep"),
            inputs.Read("prompt_embeds", ScalarType.Float64), inputs.Read("prompt_attention_mask"), scaling,
            BaseSequenceLength(fixture.Json.GetProperty("cross_attention_kwargs")));
        Assert.Equal(ScalarType.Float64, result.dtype);
        Tensor reference = expected.Read("output");
        TensorAssert.Close(reference, result, "output (float64)", 1e-6);
        output.WriteLine($"float64 output: max|Δ|/max|expected| = {TensorAssert.MaxAbsDiff(reference, result) / reference.abs().max().item<float>():G3}");
    }

    private void Denoise(FixtureCase fixture)
    {
        JsonElement json = fixture.Json;
        using var model = LuminaNextDiT2DModel.FromPretrained(fixture.PathOf("transformer"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        var scheduler = new FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteSchedulerConfig.Load(fixture.PathOf("scheduler/scheduler_config.json")));
        var options = new SamplerOptions
        {
            Steps = json.GetProperty("num_inference_steps").GetInt32(),
            CfgScale = json.GetProperty("guidance_scale").GetDouble(),
        };

        // 1. The schedule and the reversed model time, exactly as diffusers makes them.
        FlowMatchSchedule schedule = scheduler.SetTimesteps(options.Steps);
        float[] modelTimes = [.. schedule.Timesteps.Select(t => SamplingConvention.LuminaNext.ModelTimestep(t, scheduler.Config.NumTrainTimesteps))];
        using (var scope = NewDisposeScope())
        {
            Assert.Equal(expected.Read("sigmas").data<float>().ToArray(), schedule.Sigmas);
            Assert.Equal(expected.Read("timesteps").data<float>().ToArray(), schedule.Timesteps);
            Assert.Equal(expected.Read("model_timesteps").data<float>().ToArray(), modelTimes);
        }

        using Tensor latents0 = inputs.Read("latents");
        using var conditioning = LuminaConditioning.Create(inputs.Read("prompt_embeds"), inputs.Read("prompt_attention_mask"),
            inputs.Contains("negative_prompt_embeds") ? inputs.Read("negative_prompt_embeds") : null,
            inputs.Contains("negative_prompt_attention_mask") ? inputs.Read("negative_prompt_attention_mask") : null,
            (int)latents0.shape[0], options.UsesCfg);
        JsonElement pipeline = json.GetProperty("pipeline");
        var denoiser = new LuminaDenoiser(model, conditioning, new LuminaSamplingOptions
        {
            ScalingWatershed = pipeline.GetProperty("scaling_watershed").GetDouble(),
            ProportionalAttention = pipeline.GetProperty("proportional_attn").GetBoolean(),
            VaeScaleFactor = json.GetProperty("vae_scale_factor").GetInt32(),
        });

        // 2. Pipeline constants: resolution scaling, proportional-attention base, per-step RoPE factors.
        Assert.Equal(pipeline.GetProperty("default_image_size").GetInt32(), denoiser.DefaultImageSize);
        long height = latents0.shape[2];
        long width = latents0.shape[3];
        Assert.Equal(pipeline.GetProperty("scaling_factor").GetDouble(), denoiser.ScalingFactor(height, width), 12);
        Assert.Equal(BaseSequenceLength(pipeline), denoiser.BaseSequenceLength);
        JsonElement[] perStep = [.. pipeline.GetProperty("per_step_rope").EnumerateArray()];
        Assert.Equal(options.Steps, perStep.Length);
        for (int i = 0; i < options.Steps; i++)
        {
            LuminaRopeScaling rope = denoiser.RopeScaling(modelTimes[i], height, width);
            Assert.Equal(perStep[i].GetProperty("linear_factor").GetDouble(), rope.LinearFactor, 12);
            Assert.Equal(perStep[i].GetProperty("ntk_factor").GetDouble(), rope.NtkFactor, 12);
        }

        // 3. The run, recording every model call, velocity and RAS selection.
        RasOptions? ras = fixture.RasOptions();
        using var session = ras is null ? null : new RasSession(ras);
        var selections = new Dictionary<int, (Tensor Raw, Tensor Scaled, Tensor Drops)>();
        if (session is not null)
        {
            session.SelectionMade += (step, raw, scaled, drops) =>
                selections[step] = (raw.clone().DetachFromDisposeScope(), scaled.clone().DetachFromDisposeScope(), drops.clone().DetachFromDisposeScope());
        }

        using var recorder = new RecordingDenoiser(denoiser);
        using var observer = new RecordingObserver(session);
        using Tensor final = FlowMatchEulerSampler.Sample(recorder, scheduler.SetTimesteps(options.Steps), latents0, options, observer);
        try
        {
            Check(expected.Read("latents"), final, "latents");
            CheckSteps(expected, recorder, observer, options.Steps);
            CheckRas(expected, session, selections, observer);
        }
        finally
        {
            foreach (var (raw, scaled, drops) in selections.Values)
            {
                raw.Dispose();
                scaled.Dispose();
                drops.Dispose();
            }
        }
    }

    /// <summary>Per step: raw transformer output, the negated guided velocity, and the latents after the update.</summary>
    private void CheckSteps(SafetensorsFile expected, RecordingDenoiser recorder, RecordingObserver observer, int steps)
    {
        Assert.Equal(steps, recorder.Outputs.Count);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            Tensor transformerOutput = expected.Read($"step_{i}_transformer_output");
            Check(transformerOutput, recorder.Outputs[i], $"step_{i}_transformer_output");

            // Cached tokens are exactly zero in the reference; so must ours be.
            Tensor zeros = transformerOutput.eq(0);
            Assert.True(recorder.Outputs[i].masked_select(zeros).eq(0).all().item<bool>(), $"step {i}: cached tokens are not exactly zero");

            Check(expected.Read($"step_{i}_noise_pred"), observer.Received[i], $"step_{i}_noise_pred");

            // The latents after step i are the next call's model input (its first copy); the last ones are the result.
            if (i + 1 < steps)
            {
                Check(expected.Read($"step_{i}_latents"), recorder.Inputs[i + 1].narrow(0, 0, 1), $"step_{i}_latents");
            }
        }
    }

    /// <summary>RAS: the same sparse steps, identical token sets, filled velocities and the scores that chose them.</summary>
    private void CheckRas(SafetensorsFile expected, RasSession? session, Dictionary<int, (Tensor Raw, Tensor Scaled, Tensor Drops)> selections,
        RecordingObserver observer)
    {
        var expectedSparse = expected.Entries.Keys
            .Where(k => k.EndsWith("_active_tokens", StringComparison.Ordinal))
            .Select(k => int.Parse(k.Split('_')[1], CultureInfo.InvariantCulture))
            .Order().ToList();
        var actualSparse = session?.Records.Where(r => r.Kind == RasStepKind.Sparse).Select(r => r.Step).ToList() ?? [];
        Assert.Equal(expectedSparse, actualSparse);
        foreach (int step in actualSparse)
        {
            using var scope = NewDisposeScope();
            RasStepRecord record = session!.Records.Single(r => r.Step == step);
            Assert.Equal(expected.Read($"step_{step}_active_tokens").data<long>().ToArray(), record.ActiveTokens![0]);
            Check(expected.Read($"step_{step}_noise_pred_filled"), observer.Velocities[step], $"step_{step}_noise_pred_filled");

            var (raw, scaled, drops) = selections[step];
            Check(expected.Read($"step_{step}_selection_metric_raw"), raw[0], $"step_{step}_selection_metric_raw");
            Check(expected.Read($"step_{step}_selection_metric"), scaled[0], $"step_{step}_selection_metric");
            Assert.Equal(expected.Read($"step_{step}_selection_drop_count").data<float>().ToArray(), drops[0].data<float>().ToArray());
        }

        if (actualSparse.Count > 0)
        {
            output.WriteLine($"RAS steps with identical token sets: [{string.Join(", ", actualSparse)}]");
        }
    }

    private void Check(Tensor expected, Tensor actual, string name)
    {
        TensorAssert.Close(expected, actual, name);
        double scale;
        using (Tensor magnitude = expected.abs().max())
        {
            scale = magnitude.to_type(ScalarType.Float64).item<double>();
        }

        errors.Add((name, TensorAssert.MaxAbsDiff(expected, actual) / scale));
    }

    private static int? BaseSequenceLength(JsonElement holder) =>
        holder.TryGetProperty("base_sequence_length", out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;
}

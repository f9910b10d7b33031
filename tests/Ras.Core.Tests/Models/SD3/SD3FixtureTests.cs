using Ras.IO.Safetensors;
using Ras.Models.SD3;
using Ras.Pipelines.SD3;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Ras.Tests.Models.SD3;

/// <summary>Every case under <c>&lt;fixtures&gt;/sd3/</c>, dispatched on its <c>kind</c>.</summary>
[Trait("Category", "Fixtures")]
public sealed class SD3FixtureTests(ITestOutputHelper output)
{
    [FixtureCases("sd3")]
    public void Sd3(string caseName)
    {
        using var fixture = FixtureCase.Open("sd3", caseName);
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
    }

    private void Forward(FixtureCase fixture)
    {
        using var model = SD3Transformer2DModel.FromPretrained(fixture.PathOf("transformer"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var taps = new Dictionary<string, Tensor>();
        Tensor result = model.Forward(inputs.Read("latents"), inputs.Read("prompt_embeds"), inputs.Read("pooled_prompt_embeds"),
            inputs.Read("timestep"), routing: null, tap: (name, t) => taps["debug_" + name] = t.clone());

        TensorAssert.Close(expected.Read("output"), result, "output");
        var debugNames = expected.Entries.Keys.Where(k => k.StartsWith("debug_", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(debugNames);
        foreach (string name in debugNames)
        {
            Assert.True(taps.ContainsKey(name), $"the model produced no intermediate '{name}'");
            TensorAssert.Close(expected.Read(name), taps[name], name);
        }

        output.WriteLine($"output max abs diff {TensorAssert.MaxAbsDiff(expected.Read("output"), result):G3}; {debugNames.Count} debug tensors match");
    }

    private void Denoise(FixtureCase fixture)
    {
        using var model = SD3Transformer2DModel.FromPretrained(fixture.PathOf("transformer"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        var scheduler = new FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteSchedulerConfig.Load(fixture.PathOf("scheduler/scheduler_config.json")));
        var options = new SamplerOptions
        {
            Steps = fixture.Json.GetProperty("num_inference_steps").GetInt32(),
            CfgScale = fixture.Json.GetProperty("guidance_scale").GetDouble(),
        };

        // The schedule first: sigmas and timesteps exactly as diffusers makes them.
        FlowMatchSchedule schedule = scheduler.SetTimesteps(options.Steps);
        using (var scope = NewDisposeScope())
        {
            Assert.Equal(expected.Read("sigmas").data<float>().ToArray(), schedule.Sigmas);
            Assert.Equal(expected.Read("timesteps").data<float>().ToArray(), schedule.Timesteps);
        }

        using Tensor latents0 = inputs.Read("latents");
        using var conditioning = SD3Conditioning.Create(inputs.Read("prompt_embeds"), inputs.Read("pooled_prompt_embeds"),
            inputs.Contains("negative_prompt_embeds") ? inputs.Read("negative_prompt_embeds") : null,
            inputs.Contains("negative_pooled_prompt_embeds") ? inputs.Read("negative_pooled_prompt_embeds") : null,
            (int)latents0.shape[0], options.UsesCfg);
        RasOptions? ras = fixture.RasOptions();
        using var session = ras is null ? null : new RasSession(ras);
        using Tensor final = FlowMatchEulerSampler.Sample(new SD3Denoiser(model, conditioning), scheduler.SetTimesteps(options.Steps), latents0, options, session);

        TensorAssert.Close(expected.Read("latents"), final, "latents");
        output.WriteLine($"final latents max abs diff {TensorAssert.MaxAbsDiff(expected.Read("latents"), final):G3}");

        // Every RAS step computed exactly the reference's token set, and no other step was sparse.
        var expectedSparse = expected.Entries.Keys
            .Where(k => k.EndsWith("_active_tokens", StringComparison.Ordinal))
            .Select(k => int.Parse(k.Split('_')[1], System.Globalization.CultureInfo.InvariantCulture))
            .Order().ToList();
        var actualSparse = session?.Records.Where(r => r.Kind == RasStepKind.Sparse).Select(r => r.Step).ToList() ?? [];
        Assert.Equal(expectedSparse, actualSparse);
        foreach (RasStepRecord record in session?.Records.Where(r => r.Kind == RasStepKind.Sparse) ?? [])
        {
            using Tensor tokens = expected.Read($"step_{record.Step}_active_tokens");
            Assert.Equal(tokens.data<long>().ToArray(), record.ActiveTokens![0]);
        }

        output.WriteLine($"RAS steps with identical token sets: [{string.Join(", ", actualSparse)}]");
    }
}

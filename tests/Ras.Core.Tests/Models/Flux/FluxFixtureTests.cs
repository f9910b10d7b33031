using System.Text.Json;
using Ras.IO.Safetensors;
using Ras.Models.Flux;
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
        Tensor unpacked = inputs.Read("latents_unpacked");
        Tensor latents = inputs.Read("latents");
        Assert.True(TensorAssert.Same(latents, FluxLatents.Pack(unpacked)), "inputs.latents is not Pack(inputs.latents_unpacked)");
        AssertIds(inputs, unpacked);

        var taps = new Dictionary<string, Tensor>();
        Tensor result = model.Forward(latents, inputs.Read("prompt_embeds"), inputs.Read("pooled_prompt_embeds"), inputs.Read("timestep"),
            inputs.Contains("guidance") ? inputs.Read("guidance") : null, inputs.Read("img_ids"), inputs.Read("txt_ids"),
            routing: null, tap: (name, t) => taps["debug_" + name] = t.clone());

        Check(expected.Read("output"), result, "output");
        Check(expected.Read("output_unpacked"), FluxLatents.Unpack(result, unpacked.shape[2], unpacked.shape[3]), "output_unpacked");
        var debugNames = expected.Entries.Keys.Where(k => k.StartsWith("debug_", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(debugNames);
        foreach (string name in debugNames)
        {
            Assert.True(taps.ContainsKey(name), $"the model produced no intermediate '{name}'");
            Check(expected.Read(name), taps[name], name);
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

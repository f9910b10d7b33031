using Ras.IO.Checkpoints;
using Ras.IO.Gguf;
using Ras.Models.Flux;
using Ras.Models.SD3;
using Ras.Pipelines;
using Ras.Pipelines.Flux;
using Ras.Pipelines.SD3;
using Ras.Tests.Models.SD3;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Pipelines;

/// <summary>
/// GGUF transformers (Q8_0 + Q4_K + F16 + F32, as ComfyUI-GGUF writes them, prefix stripped) open as pipelines with a
/// <c>--config</c> folder, and draw the image the same file draws after <c>ras convert</c> to a float32 single file.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class GgufPipelineTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Flux_gguf_draws_what_its_float32_conversion_draws()
    {
        string folder = TinyFluxPipelines.Write(temp.File("flux-dev"));
        string bfl = TinyFluxPipelines.WriteSingleFile(folder, temp.File("flux1-dev.safetensors"), allInOne: false);
        string gguf = TinyGgufFiles.FromSafetensors(bfl, temp.File("flux1-dev-Q8_0.gguf"), "flux");
        AssertMixed(gguf);

        var request = new ImageRequest { Prompts = ["a red circle"], Seed = 3, Steps = 3, Width = 32, Height = 16 };
        await AssertSameImage(gguf, folder, request, typeof(FluxPipeline));
    }

    [Fact]
    public async Task Sd3_gguf_draws_what_its_float32_conversion_draws()
    {
        string folder = TinyPipelines.WriteSd3Pipeline(temp.File("sd3"));
        string stability;
        using (var transformer = SD3Transformer2DModel.FromPretrained(Path.Combine(folder, "transformer")))
        {
            stability = SD3SingleFileConverterTests.WriteSingleFile(transformer, temp.File("sd3.safetensors"));
        }

        string gguf = TinyGgufFiles.FromSafetensors(stability, temp.File("sd3-Q8_0.gguf"), "sd3", SD3SingleFileConverter.Prefix);
        AssertMixed(gguf);

        var request = new ImageRequest { Prompts = ["a star"], Seed = 5, Steps = 3, Width = 16, Height = 32 };
        await AssertSameImage(gguf, folder, request, typeof(StableDiffusion3Pipeline));
    }

    /// <summary>Opens the GGUF and its <c>ras convert</c>ed float32 copy with the same config folder; their images agree within 1/255.</summary>
    private async Task AssertSameImage(string gguf, string configFolder, ImageRequest request, Type pipelineType)
    {
        string converted = temp.File(Path.GetFileNameWithoutExtension(gguf) + "-f32.safetensors");
        CheckpointConversion.Convert(gguf, converted);

        using var fromGguf = TextToImagePipeline.Open(gguf, configFolder);
        using var fromConverted = TextToImagePipeline.Open(converted, configFolder);
        Assert.IsType(pipelineType, fromGguf);
        Assert.Contains("single file", fromGguf.Description, StringComparison.Ordinal);
        byte[] a = (await fromGguf.GenerateAsync(request)).Images[0];
        byte[] b = (await fromConverted.GenerateAsync(request)).Images[0];
        Assert.Equal(b.Length, a.Length);
        int worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst <= 1, $"largest pixel difference {worst}/255");
    }

    private static void AssertMixed(string path)
    {
        using var file = GgufFile.Open(path);
        var types = file.Tensors.Select(t => t.Type).ToHashSet();
        Assert.Contains(GgufTensorType.Q8_0, types);
        Assert.Contains(GgufTensorType.Q4_K, types);
        Assert.DoesNotContain(file.Tensors, t => t.Name.StartsWith("model.diffusion_model.", StringComparison.Ordinal));
    }
}

using System.Text.RegularExpressions;
using Ras.IO.Images;
using Ras.IO.Safetensors;
using Ras.Models.Flux;
using Ras.Models.SD3;
using Ras.Samples.Readme;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Samples.Tests;

/// <summary>
/// Runs README.md's C# samples, compiled from the README itself (ReadmeSamples.targets), in a folder where the paths they name
/// hold tiny models. The samples use relative paths, so each runs with that folder as the working directory (this assembly's
/// tests run one at a time: see <see cref="Serial"/>).
/// </summary>
[Collection(Serial.Name)]
public sealed partial class ReadmeSampleTests : IDisposable
{
    private readonly TempDirectory folder = new();
    private readonly string previous = Environment.CurrentDirectory;

    public ReadmeSampleTests()
    {
        Environment.CurrentDirectory = folder.Path;
    }

    public void Dispose()
    {
        Environment.CurrentDirectory = previous;
        folder.Dispose();
    }

    [Fact]
    public void Every_csharp_block_of_the_readme_is_a_compiled_sample()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));
        int blocks = Regex.Count(readme, "^```csharp\\s*$", RegexOptions.Multiline);
        int samples = typeof(ReadmeSamples).GetMethods().Count(m => m.IsStatic && m.ReturnType == typeof(Task));
        Assert.Equal(blocks, samples);
        Assert.True(samples >= 4);
    }

    [Fact]
    public async Task Text_to_image_writes_the_fox_pngs()
    {
        TinyPipelines.WriteSd3Pipeline(Path.Combine("models", "stable-diffusion-3-medium-diffusers"));
        await ReadmeSamples.TextToImage();
        foreach (string png in new[] { "fox-0.png", "fox-1.png" })
        {
            RgbImage image = ImageReader.Read(png);
            Assert.True(image.Width > 0 && image.Rgb.Distinct().Count() > 10, png);
        }
    }

    [Fact]
    public async Task The_built_in_model_draws_the_star()
    {
        await ReadmeSamples.BuiltIn();
        Assert.Equal((64, 64), (ImageReader.Read("star.png").Width, ImageReader.Read("star.png").Height));
    }

    [Fact]
    public async Task The_sd3_engine_sample_samples_with_ras()
    {
        SD3TransformerConfig config = TinyModels.Config() with { InChannels = 16, OutChannels = 16, SampleSize = 128, PosEmbedMaxSize = 64, NumLayers = 1 };
        WriteTransformer("sd3", config.ToJson(), TinyModels.Model(config).state_dict());
        using var scope = NewDisposeScope();
        Tensor Embeds() => randn(1, 5, config.JointAttentionDim);
        Tensor Pooled() => randn(1, config.PooledProjectionDim);
        var reports = new List<Ras.Sampling.SamplerProgress>();
        await ReadmeSamples.Engine(Embeds(), Pooled(), Embeds(), Pooled(), new Ras.Pipelines.SynchronousProgress<Ras.Sampling.SamplerProgress>(reports.Add), CancellationToken.None);
        Assert.Equal(28, reports.Count);
        Assert.Contains(reports, r => r.ComputedTokens < r.TotalTokens);   // RAS steps ran
    }

    [Fact]
    public async Task The_flux_sample_samples_with_ras()
    {
        FluxTransformerConfig config = FluxTinyModels.Config(layers: 1, singleLayers: 1) with { InChannels = 64, OutChannels = 64 };
        WriteTransformer("flux", config.ToJson(), FluxTinyModels.Model(config).state_dict(), dynamicShift: true);
        using var scope = NewDisposeScope();
        await ReadmeSamples.Flux(randn(1, 5, config.JointAttentionDim), randn(1, config.PooledProjectionDim));
    }

    private static void WriteTransformer(string pipeline, string configJson, Dictionary<string, Tensor> weights, bool dynamicShift = false)
    {
        Directory.CreateDirectory(Path.Combine(pipeline, "transformer"));
        Directory.CreateDirectory(Path.Combine(pipeline, "scheduler"));
        File.WriteAllText(Path.Combine(pipeline, "transformer", "config.json"), configJson);
        SafetensorsWriter.Write(Path.Combine(pipeline, "transformer", "diffusion_pytorch_model.safetensors"), weights);
        var scheduler = new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0, UseDynamicShifting = dynamicShift };
        File.WriteAllText(Path.Combine(pipeline, "scheduler", "scheduler_config.json"), scheduler.ToJson());
    }
}

/// <summary>The samples change the working directory: no test of this assembly runs beside another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Serial
{
    public const string Name = "Readme samples";
}

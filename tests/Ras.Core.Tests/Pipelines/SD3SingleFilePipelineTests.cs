using Ras.Errors;
using Ras.IO.Safetensors;
using Ras.Models.SD3;
using Ras.Models.Vae;
using Ras.Pipelines;
using Ras.Pipelines.SD3;
using Ras.Tests.Models.SD3;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Pipelines;

/// <summary>A Stability single file (transformer, VAE and text encoders in one file) generates what the diffusers folder does.</summary>
[Collection(SerialCollection.Name)]
public sealed class SD3SingleFilePipelineTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly string folder;
    private readonly string singleFile;

    public SD3SingleFilePipelineTests()
    {
        folder = TinyPipelines.WriteSd3Pipeline(temp.File("sd3"));
        singleFile = WriteSingleFile(folder, temp.File("sd3_tiny.safetensors"));
    }

    public void Dispose() => temp.Dispose();

    /// <summary>The folder's weights in Stability's key layout, merged into one file.</summary>
    private string WriteSingleFile(string source, string path, bool withTextEncoders = true)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        using (var transformer = SD3Transformer2DModel.FromPretrained(Path.Combine(source, "transformer")))
        {
            Merge(tensors, SD3SingleFileConverterTests.WriteSingleFile(transformer, temp.File("t.safetensors")), string.Empty);
        }

        using (var vae = AutoencoderKL.FromPretrained(Path.Combine(source, "vae")))
        {
            ForeignLayout.Write(temp.File("v.safetensors"), vae.state_dict(), s => VaeLdmConverter.Convert(s, vae.Config),
                key => key.StartsWith(VaeLdmConverter.Prefix, StringComparison.Ordinal));
            Merge(tensors, temp.File("v.safetensors"), string.Empty);
        }

        if (withTextEncoders)
        {
            Merge(tensors, Path.Combine(source, "text_encoder", "model.safetensors"), "text_encoders.clip_l.transformer.");
            Merge(tensors, Path.Combine(source, "text_encoder_2", "model.safetensors"), "text_encoders.clip_g.transformer.");
        }

        SafetensorsWriter.Write(path, tensors);
        return path;
    }

    private static void Merge(Dictionary<string, Tensor> into, string file, string prefix)
    {
        using var source = SafetensorsFile.Open(file);
        foreach (string key in source.Entries.Keys)
        {
            into[prefix + key] = source.Read(key);
        }
    }

    [Fact]
    public async Task Single_file_with_config_folder_generates_the_folders_image()
    {
        var request = new ImageRequest { Prompts = ["a star"], Seed = 5, Steps = 4, Width = 16, Height = 32 };
        using var fromFolder = TextToImagePipeline.Open(folder);
        using var fromFile = TextToImagePipeline.Open(singleFile, configFolder: folder);
        Assert.Contains("single file", fromFile.Description, StringComparison.Ordinal);
        ImageGeneration expected = await fromFolder.GenerateAsync(request);
        ImageGeneration actual = await fromFile.GenerateAsync(request);
        Assert.Equal(expected.Images[0], actual.Images[0]);
    }

    [Fact]
    public async Task Text_encoders_missing_from_the_file_come_from_the_config_folder()
    {
        string bare = WriteSingleFile(folder, temp.File("sd3_bare.safetensors"), withTextEncoders: false);
        var request = new ImageRequest { Prompts = ["a star"], Seed = 5, Steps = 2, Width = 16, Height = 16 };
        using var fromFolder = TextToImagePipeline.Open(folder);
        using var fromFile = TextToImagePipeline.Open(bare, configFolder: folder);
        Assert.Equal((await fromFolder.GenerateAsync(request)).Images[0], (await fromFile.GenerateAsync(request)).Images[0]);
    }

    [Fact]
    public async Task Single_file_without_config_folder_asks_for_the_tokenizers()
    {
        using var pipeline = TextToImagePipeline.Open(singleFile);
        var error = await Assert.ThrowsAsync<RasInputException>(() => pipeline.GenerateAsync(new ImageRequest { Prompts = ["x"], Steps = 1, Width = 16, Height = 16 }));
        Assert.Contains("--config", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_folder_of_another_family_is_rejected()
    {
        File.WriteAllText(temp.File("model_index.json"), "{\"_class_name\": \"LuminaText2ImgPipeline\"}");
        var error = Assert.ThrowsAny<RasInputException>(() => TextToImagePipeline.Open(singleFile, configFolder: temp.Path));
        Assert.Contains("_class_name", error.Message, StringComparison.Ordinal);
    }
}

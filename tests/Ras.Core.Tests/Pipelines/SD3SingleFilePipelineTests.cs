using Ras.Errors;
using Ras.IO.Safetensors;
using Ras.Pipelines;
using Ras.Pipelines.SD3;
using Ras.Tests.TestSupport;
using Ras.Tokenizers;
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
        singleFile = TinySingleFiles.WriteSd3(folder, temp.File("sd3_tiny.safetensors"));
    }

    public void Dispose() => temp.Dispose();

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

    /// <summary>
    /// Stability's released <c>sd3_medium_incl_clips*</c> files hold no CLIP-L <c>text_projection</c>: the pooled CLIP-L
    /// output is used unprojected, so such a file draws what a folder whose CLIP-L projection is the identity draws.
    /// </summary>
    [Fact]
    public async Task Clip_l_without_text_projection_is_the_identity_as_in_diffusers_single_file_loader()
    {
        string identityFolder = TinyPipelines.WriteSd3Pipeline(temp.File("sd3-identity"), identityClipLProjection: true);
        string file = TinySingleFiles.WriteSd3(identityFolder, temp.File("sd3_incl_clips.safetensors"), omit: key => key == TinySingleFiles.ClipLPrefix + "text_projection.weight");
        var request = new ImageRequest { Prompts = ["a star"], Seed = 5, Steps = 3, Width = 16, Height = 32 };
        using var fromFolder = TextToImagePipeline.Open(identityFolder);
        using var fromFile = TextToImagePipeline.Open(file, configFolder: identityFolder);
        Assert.Equal((await fromFolder.GenerateAsync(request)).Images[0], (await fromFile.GenerateAsync(request)).Images[0]);

        // Without --config the width is inferred as the hidden size, and the projection is the identity.
        using var source = SD3PipelineSource.Open(file);
        using var clipL = source.LoadClipL(null);
        Assert.Equal(TinyPipelines.ClipLHidden, clipL.Config.HiddenSize);
        Assert.Equal(clipL.Config.HiddenSize, clipL.Config.ProjectionDim);
        using var identity = eye(clipL.Config.HiddenSize);
        Assert.True(TensorAssert.Same(identity, clipL.state_dict()["text_projection.weight"]), "text_projection should be the identity");
    }

    [Fact]
    public void Clip_l_without_text_projection_needs_a_config_whose_projection_dim_is_the_hidden_size()
    {
        string file = TinySingleFiles.WriteSd3(folder, temp.File("sd3_no_proj.safetensors"), omit: key => key == TinySingleFiles.ClipLPrefix + "text_projection.weight");
        using var source = SD3PipelineSource.Open(file, configFolder: folder);
        var error = Assert.Throws<ConfigException>(() => source.LoadClipL(null));
        Assert.Equal("projection_dim", error.Field);
        Assert.Equal(Path.Combine(folder, "text_encoder", "config.json"), error.FilePath);
        Assert.Contains("text_projection.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clip_g_without_text_projection_is_a_missing_key()
    {
        string file = TinySingleFiles.WriteSd3(folder, temp.File("sd3_no_g_proj.safetensors"), omit: key => key == TinySingleFiles.ClipGPrefix + "text_projection.weight");
        using var source = SD3PipelineSource.Open(file, configFolder: folder);
        var error = Assert.Throws<CheckpointException>(() => source.LoadClipG(null));
        Assert.Equal(["text_projection.weight"], error.Missing);
    }

    [Fact]
    public void Folder_text_encoder_without_text_projection_is_a_missing_key()
    {
        string weights = Path.Combine(folder, "text_encoder", "model.safetensors");
        using (var scope = NewDisposeScope())
        {
            Dictionary<string, Tensor> kept;
            using (var file = SafetensorsFile.Open(weights))
            {
                kept = file.Entries.Keys.Where(k => k != "text_projection.weight").ToDictionary(k => k, k => file.Read(k));
            }

            SafetensorsWriter.Write(weights, kept);
        }

        using var source = SD3PipelineSource.Open(folder);
        var error = Assert.Throws<CheckpointException>(() => source.LoadClipL(null));
        Assert.Equal(["text_projection.weight"], error.Missing);
    }

    [Fact]
    public async Task Text_encoders_missing_from_the_file_come_from_the_config_folder()
    {
        string bare = TinySingleFiles.WriteSd3(folder, temp.File("sd3_bare.safetensors"), withTextEncoders: false);
        var request = new ImageRequest { Prompts = ["a star"], Seed = 5, Steps = 2, Width = 16, Height = 16 };
        using var fromFolder = TextToImagePipeline.Open(folder);
        using var fromFile = TextToImagePipeline.Open(bare, configFolder: folder);
        Assert.Equal((await fromFolder.GenerateAsync(request)).Images[0], (await fromFile.GenerateAsync(request)).Images[0]);
    }

    [Fact]
    public void Single_file_without_config_folder_uses_the_built_in_tokenizers()
    {
        using var source = SD3PipelineSource.Open(singleFile);
        Assert.Equal(BuiltInTokenizers.Folder(BuiltInTokenizer.ClipL), source.TokenizerFolder("tokenizer", BuiltInTokenizer.ClipL));
        Assert.Equal(BuiltInTokenizers.Folder(BuiltInTokenizer.ClipG), source.TokenizerFolder("tokenizer_2", BuiltInTokenizer.ClipG));

        // A --config folder's own tokenizer folders win.
        using var configured = SD3PipelineSource.Open(singleFile, folder);
        Assert.Equal(Path.Combine(folder, "tokenizer_2"), configured.TokenizerFolder("tokenizer_2", BuiltInTokenizer.ClipG));
    }

    [Fact]
    public void Single_file_without_its_text_encoders_names_the_flags_that_supply_them_when_opened()
    {
        // Before any stage runs: a missing part is reported when the pipeline opens, not after the text encoders ran.
        string bare = TinySingleFiles.WriteSd3(folder, temp.File("sd3_bare.safetensors"), omit: key => key.StartsWith("text_encoders.", StringComparison.Ordinal));
        var error = Assert.Throws<RasInputException>(() => TextToImagePipeline.Open(bare));
        Assert.Contains("--clip-l FILE", error.Message, StringComparison.Ordinal);
        Assert.Contains("--config", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A bare transformer file, its encoders and VAE as separate files, and a --config folder with no weights at all.</summary>
    [Fact]
    public async Task Component_files_supply_every_part_a_bare_file_lacks()
    {
        string withT5 = TinyPipelines.WriteSd3Pipeline(temp.File("sd3-t5"), withT5: true);
        string bare = TinySingleFiles.WriteSd3(withT5, temp.File("sd3_bare.safetensors"), withTextEncoders: false,
            omit: key => key.StartsWith("first_stage_model.", StringComparison.Ordinal));
        string configOnly = temp.File("configs");
        foreach (string file in Directory.GetFiles(withT5, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            string target = Path.Combine(configOnly, Path.GetRelativePath(withT5, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var components = new ComponentFiles
        {
            ClipL = Path.Combine(withT5, "text_encoder", "model.safetensors"),
            ClipG = Path.Combine(withT5, "text_encoder_2", "model.safetensors"),
            T5 = Path.Combine(withT5, "text_encoder_3", "model.safetensors"),
            Vae = Path.Combine(withT5, "vae", "diffusion_pytorch_model.safetensors"),   // diffusers' layout
        };
        var missing = Assert.Throws<RasInputException>(() => TextToImagePipeline.Open(bare, configOnly, components: components with { ClipG = null }));
        Assert.Contains("--clip-g FILE", missing.Message, StringComparison.Ordinal);

        var request = new ImageRequest { Prompts = ["a star"], Seed = 5, Steps = 3, Width = 16, Height = 32 };
        using var fromFolder = TextToImagePipeline.Open(withT5);
        using var fromFiles = TextToImagePipeline.Open(bare, configOnly, components: components);
        Assert.Equal((await fromFolder.GenerateAsync(request)).Images[0], (await fromFiles.GenerateAsync(request)).Images[0]);
    }

    [Fact]
    public void Config_folder_of_another_family_is_rejected()
    {
        File.WriteAllText(temp.File("model_index.json"), "{\"_class_name\": \"LuminaText2ImgPipeline\"}");
        var error = Assert.ThrowsAny<RasInputException>(() => TextToImagePipeline.Open(singleFile, configFolder: temp.Path));
        Assert.Contains("_class_name", error.Message, StringComparison.Ordinal);
    }
}

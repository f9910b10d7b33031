using Ras.Errors;
using Ras.Pipelines;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Pipelines;

/// <summary>Which component files each family takes, and the messages for the others.</summary>
public sealed class ComponentFilesTests : IDisposable
{
    private static readonly Dictionary<string, string> Sd3Roles = new() { ["clip-l"] = "text_encoder", ["clip-g"] = "text_encoder_2", ["t5"] = "text_encoder_3", ["vae"] = "vae" };
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Files_map_to_their_component_folders()
    {
        string file = temp.File("clip_g.safetensors");
        File.WriteAllBytes(file, [1]);
        var files = new ComponentFiles { ClipG = file, Vae = file }.For("SD3", Sd3Roles);
        Assert.Equal(["text_encoder_2", "vae"], files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new ComponentFile("clip-g", file), files["text_encoder_2"]);
        Assert.Empty(ComponentFiles.None.For("SD3", Sd3Roles));
    }

    [Fact]
    public void A_role_the_family_lacks_and_a_missing_file_name_their_flags()
    {
        string file = temp.File("clip_g.safetensors");
        File.WriteAllBytes(file, [1]);
        var noRole = Assert.Throws<OptionsException>(() => new ComponentFiles { ClipG = file }.For("FLUX.1", new Dictionary<string, string> { ["clip-l"] = "text_encoder" }));
        Assert.Equal("clip-g", noRole.Option);
        Assert.Contains("--clip-l", noRole.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<OptionsException>(() => new ComponentFiles { T5 = temp.File("nope.safetensors") }.For("SD3", Sd3Roles));
        Assert.Equal("t5", missing.Option);
        Assert.Contains("no such file", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Families_without_component_files_refuse_them()
    {
        string file = temp.File("t5.safetensors");
        File.WriteAllBytes(file, [1]);
        string folder = TinyLuminaPipelines.Write(temp.File("lumina"));
        var error = Assert.Throws<OptionsException>(() => TextToImagePipeline.Open(folder, components: new ComponentFiles { T5 = file }));
        Assert.Contains("take no component files", error.Message, StringComparison.Ordinal);
    }
}

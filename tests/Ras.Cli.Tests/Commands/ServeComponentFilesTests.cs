using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Server;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary>
/// <c>ras serve --models-dir D --clip-l … --t5 … --vae …</c>: a GGUF transformer in the models folder is listed and draws,
/// with the component files standing in for a diffusers folder (as Forge's VAE / Text Encoder choice).
/// </summary>
public sealed class ServeComponentFilesTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task A_gguf_in_the_models_folder_draws_with_the_servers_component_files()
    {
        string folder = TinyFluxPipelines.Write(temp.File("flux-dev"), standardTokenizers: true);
        string models = Directory.CreateDirectory(temp.File("models")).FullName;
        string bfl = TinyFluxPipelines.WriteSingleFile(folder, temp.File("flux1-dev.safetensors"), allInOne: false);
        TinyGgufFiles.FromSafetensors(bfl, Path.Combine(models, "flux1-dev-Q8_0.gguf"), "flux");
        var components = new ComponentFiles
        {
            ClipL = Path.Combine(folder, "text_encoder", "model.safetensors"),
            T5 = Fp8Files.Copy(Path.Combine(folder, "text_encoder_2", "model.safetensors"), temp.File("t5xxl_fp8_e4m3fn.safetensors")),
            Vae = TinyFluxPipelines.WriteAe(folder, temp.File("ae.safetensors")),
        };
        var options = new ServerOptions
        {
            BuiltInModelFolder = BuiltInModel.Unpack().Folder, BuiltInModelName = BuiltInModel.Name, Port = 0, ModelsDir = models, Components = components,
            Limits = new ServerLimits { MinSize = 16 },
        };
        await using RasServer server = await RasServer.StartAsync(options);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };

        JsonArray listed = (await http.GetFromJsonAsync<JsonArray>("/sdapi/v1/sd-models"))!;
        Assert.Contains(listed, m => m!["model_name"]!.GetValue<string>() == "flux1-dev-Q8_0");

        using var response = await http.PostAsJsonAsync("/sdapi/v1/txt2img", new
        {
            prompt = "a fox on a hill", steps = 2, width = 16, height = 16, seed = 8,
            override_settings = new Dictionary<string, object> { ["sd_model_checkpoint"] = "flux1-dev-Q8_0" },
        });
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        byte[] png = Convert.FromBase64String(JsonNode.Parse(body)!["images"]![0]!.GetValue<string>());
        RgbImage image = ImageReader.Decode(png, "txt2img");
        Assert.Equal((16, 16), (image.Width, image.Height));
        Assert.True(image.Rgb.Distinct().Count() > 8, "a drawn image, not a flat one");
    }

    [Fact]
    public void A_missing_component_file_is_refused_at_start()
    {
        var options = new ServerOptions
        {
            BuiltInModelFolder = temp.Path, Port = 0, Components = new ComponentFiles { Vae = temp.File("ae.safetensors") },
        };
        var error = Assert.Throws<Ras.Errors.OptionsException>(options.Validate);
        Assert.Equal("vae", error.Option);
    }
}

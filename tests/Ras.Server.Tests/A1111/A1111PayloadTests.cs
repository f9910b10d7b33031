using System.Text.Json.Nodes;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.A1111;

/// <summary>
/// AUTOMATIC1111's own API test payloads (its test/test_txt2img.py, test_img2img.py, test_utils.py), re-expressed against our
/// server on the built-in model: every one answers 200 with the shapes A1111 returns.
/// </summary>
public sealed class A1111PayloadTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    /// <summary>A1111's simple txt2img request, with its sampler_index, at our small size and few steps.</summary>
    private static JsonObject Simple() => new()
    {
        ["batch_size"] = 1, ["cfg_scale"] = 7, ["denoising_strength"] = 0, ["enable_hr"] = false, ["eta"] = 0, ["firstphase_height"] = 0,
        ["firstphase_width"] = 0, ["height"] = 64, ["n_iter"] = 1, ["negative_prompt"] = "", ["prompt"] = "example prompt", ["restore_faces"] = false,
        ["s_churn"] = 0, ["s_noise"] = 1, ["s_tmax"] = 0, ["s_tmin"] = 0, ["sampler_index"] = "Euler a", ["seed"] = -1, ["seed_resize_from_h"] = -1,
        ["seed_resize_from_w"] = -1, ["steps"] = 3, ["styles"] = new JsonArray(), ["subseed"] = -1, ["subseed_strength"] = 0, ["tiling"] = false, ["width"] = 64,
    };

    [Fact]
    public async Task Txt2img_simple_with_sampler_index()
    {
        Txt2Img result = await Server.Txt2ImgAsync(Simple());
        Png.Decode(Assert.Single(result.Images), 64, 64);
        Assert.Equal("Euler", result.Info["sampler_name"]!.GetValue<string>());
        Assert.Contains(result.Info["warnings"]!.AsArray(), w => w!.GetValue<string>().Contains("'Euler a' is not available", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Txt2img_with_n_iter_and_batch_size_makes_every_image_with_its_own_seed()
    {
        JsonObject body = Simple();
        body["n_iter"] = 2;
        body["batch_size"] = 2;
        body["seed"] = 100;
        Txt2Img result = await Server.Txt2ImgAsync(body);
        Assert.Equal(4, result.Images.Count);
        Assert.Equal([100L, 101, 102, 103], result.Seeds);
        Assert.Equal(4, result.Images.Distinct(new BytesComparer()).Count());
        Assert.Equal(100, result.Info["seed"]!.GetValue<long>());
    }

    [Fact]
    public async Task Txt2img_enable_hr_is_ignored_with_a_warning()
    {
        JsonObject body = Simple();
        body["enable_hr"] = true;
        body["hr_scale"] = 2;
        Txt2Img result = await Server.Txt2ImgAsync(body);
        Png.Decode(Assert.Single(result.Images), 64, 64);
        Assert.Contains(result.Info["warnings"]!.AsArray(), w => w!.GetValue<string>() == "enable_hr is not supported and was ignored");
    }

    [Fact]
    public async Task Img2img_with_a_data_uri_init_image()
    {
        Txt2Img source = await Server.Txt2ImgAsync(Simple());
        var body = new JsonObject
        {
            ["init_images"] = new JsonArray("data:image/png;base64," + Convert.ToBase64String(source.Images[0])),
            ["prompt"] = "example prompt", ["denoising_strength"] = 0.5, ["steps"] = 4, ["sampler_index"] = "Euler", ["seed"] = 3,
            ["resize_mode"] = 0, ["include_init_images"] = false, ["mask_blur"] = 4, ["inpainting_fill"] = 0,
        };
        Txt2Img result = await Server.Txt2ImgAsync(body, "/sdapi/v1/img2img");
        Png.Decode(Assert.Single(result.Images), 64, 64);
        Assert.Contains("Denoising strength: 0.5", result.Infotexts[0], StringComparison.Ordinal);
        Assert.Null(result.Response["parameters"]!["init_images"]);
    }

    [Fact]
    public async Task Options_write_and_read_back()
    {
        var (status, _, _) = await Server.PostAsync("/sdapi/v1/options", new { send_seed = false, samples_save = true });
        Assert.Equal(200, status);
        var (getStatus, options) = await Server.GetAsync("/sdapi/v1/options");
        Assert.Equal(200, getStatus);
        Assert.False(options!["send_seed"]!.GetValue<bool>());
        Assert.True(options["samples_save"]!.GetValue<bool>());
        Assert.StartsWith("ras-shapes [", options["sd_model_checkpoint"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cmd-flags", false)]
    [InlineData("samplers", true)]
    [InlineData("upscalers", true)]
    [InlineData("sd-models", true)]
    [InlineData("hypernetworks", true)]
    [InlineData("face-restorers", true)]
    [InlineData("realesrgan-models", true)]
    [InlineData("prompt-styles", true)]
    [InlineData("embeddings", false)]
    public async Task Nine_list_gets_answer_200(string route, bool isList)
    {
        var (status, body) = await Server.GetAsync($"/sdapi/v1/{route}");
        Assert.Equal(200, status);
        Assert.Equal(isList, body is JsonArray);
        Assert.Equal(!isList, body is JsonObject);
    }

    [Theory]
    [InlineData("schedulers")]
    [InlineData("latent-upscale-modes")]
    [InlineData("sd-vae")]
    [InlineData("sd-modules")]
    public async Task Forge_lists_answer_200(string route)
    {
        var (status, body) = await Server.GetAsync($"/sdapi/v1/{route}");
        Assert.Equal(200, status);
        Assert.IsType<JsonArray>(body);
    }

    [Fact]
    public async Task Sd_models_titles_are_name_and_hash()
    {
        var (_, models) = await Server.GetAsync("/sdapi/v1/sd-models");
        JsonNode model = Assert.Single(models!.AsArray())!;
        Assert.Matches(@"^ras-shapes \[[0-9a-f]{10}\]$", model["title"]!.GetValue<string>());
        Assert.Equal("ras-shapes", model["model_name"]!.GetValue<string>());
    }
}

internal sealed class BytesComparer : IEqualityComparer<byte[]>
{
    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => obj.Length == 0 ? 0 : HashCode.Combine(obj.Length, obj[obj.Length / 2], obj[^1]);
}

using System.Text.Json.Nodes;
using Ras.Cli;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.A1111;

/// <summary>The A1111 surface's rules: defaults, seeds, infotexts, RAS arguments, errors and limits.</summary>
public sealed class A1111SemanticsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Prompt = "a large yellow star at the center on a purple background";

    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Left_out_fields_take_the_models_defaults_and_unknown_fields_are_ignored()
    {
        Txt2Img result = await Server.Txt2ImgAsync(new { prompt = Prompt, some_future_field = new { x = 1 } });
        Png.Decode(Assert.Single(result.Images), 64, 64);
        Assert.Equal((64, 64, 20, 4.0), (result.Info["width"]!.GetValue<int>(), result.Info["height"]!.GetValue<int>(),
            result.Info["steps"]!.GetValue<int>(), result.Info["cfg_scale"]!.GetValue<double>()));
        Assert.Equal(20, result.Response["parameters"]!["steps"]!.GetValue<int>());
        Assert.NotNull(result.Response["parameters"]!["some_future_field"]);
    }

    [Fact]
    public async Task Random_seed_is_reported_and_reproduces_the_image_byte_for_byte()
    {
        Txt2Img random = await Server.Txt2ImgAsync(new { prompt = Prompt, seed = -1, steps = 4 });
        long seed = random.Info["seed"]!.GetValue<long>();
        Assert.InRange(seed, 0, uint.MaxValue);
        Txt2Img again = await Server.Txt2ImgAsync(new { prompt = Prompt, seed, steps = 4 });
        Assert.Equal(random.Images[0], again.Images[0]);
        Assert.Contains($"Seed: {seed},", Png.Parameters(again.Images[0]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infotexts_equal_each_pngs_text_and_the_settings_line_has_the_positional_keys_first()
    {
        Txt2Img result = await Server.Txt2ImgAsync(new { prompt = Prompt, negative_prompt = "blurry", seed = 5, steps = 4, batch_size = 2 });
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(result.Infotexts[i], Png.Parameters(result.Images[i]));
        }

        string[] lines = result.Infotexts[1].Split('\n');
        Assert.Equal([Prompt, "Negative prompt: blurry"], lines[..2]);
        Assert.Matches(@"^Steps: 4, Sampler: Euler, CFG scale: 4, Seed: 6, Size: 64x64, Model hash: [0-9a-f]{10}, Model: ras-shapes, Shift: 3$", lines[2]);
    }

    [Fact]
    public async Task Ras_args_are_positional_and_left_out_ones_take_the_models_ras_defaults()
    {
        Txt2Img result = await Server.Txt2ImgAsync(new
        {
            prompt = Prompt, seed = 1, steps = 8, ras_heatmap = true,
            alwayson_scripts = new { RAS = new { args = new object[] { true, 0.25, "l2norm" } } },
        });
        string text = result.Infotexts[0];
        Assert.Contains("Model: ras-shapes, RAS sample ratio: 0.25, RAS metric: l2norm, RAS high ratio: 0, RAS starvation scale: 1, RAS scheduler start step: 2, "
            + "RAS scheduler end step: 8, RAS error reset steps: \"3,5\", RAS skip num step: 0, RAS skip num step length: 0, RAS selection: revisit, RAS dilate: 1, Shift: 3", text, StringComparison.Ordinal);
        byte[] heatmap = Convert.FromBase64String(result.Info["ras_heatmaps"]![0]!.GetValue<string>());
        Png.Decode(heatmap, 256, 256);

        Txt2Img off = await Server.Txt2ImgAsync(new { prompt = Prompt, seed = 1, steps = 8, alwayson_scripts = new { RAS = new { args = new object[] { false, 0.25 } } } });
        Assert.DoesNotContain("RAS", off.Infotexts[0], StringComparison.Ordinal);
        Assert.Null(off.Info["ras_heatmaps"]);
    }

    [Fact]
    public async Task Override_settings_ras_keys_turn_ras_on_and_override_the_args()
    {
        Txt2Img result = await Server.Txt2ImgAsync(new
        {
            prompt = Prompt, seed = 1, steps = 8,
            alwayson_scripts = new { RAS = new { args = new object[] { true, 0.25 } } },
            override_settings = new { ras_sample_ratio = 0.75, ras_selection = "official", ras_error_reset_steps = new[] { 6 } },
        });
        Assert.Contains("RAS sample ratio: 0.75,", result.Infotexts[0], StringComparison.Ordinal);
        Assert.Contains("RAS error reset steps: 6,", result.Infotexts[0], StringComparison.Ordinal);
        Assert.Contains("RAS selection: official", result.Infotexts[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"width\": 63}", 400, "width: must be a multiple of 4 within 64–64, found 63")]
    [InlineData("{\"steps\": 151}", 400, "steps: must be within 1–150, found 151")]
    [InlineData("{\"batch_size\": 9}", 400, "batch_size: must be within 1–8, found 9")]
    [InlineData("{\"n_iter\": 17}", 400, "n_iter: must be within 1–16, found 17")]
    [InlineData("{\"steps\": \"many\"}", 400, "steps: must be an integer")]
    [InlineData("{\"alwayson_scripts\": {\"ControlNet\": {\"args\": []}}}", 422, "alwayson_scripts.ControlNet: always on script ControlNet not found")]
    [InlineData("{\"alwayson_scripts\": {\"RAS\": {\"args\": [true, 2]}}}", 400, "alwayson_scripts.RAS.args[1] (sample_ratio): must be in (0, 1], found 2")]
    [InlineData("{\"alwayson_scripts\": {\"RAS\": {\"args\": [true, 0.5, \"median\"]}}}", 400, "alwayson_scripts.RAS.args[2] (metric): 'median' is not a metric")]
    [InlineData("{\"override_settings\": {\"sd_model_checkpoint\": \"sdxl\"}}", 400, "override_settings.sd_model_checkpoint: no model named sdxl")]
    [InlineData("[1, 2]", 400, "body: must be a JSON object")]
    [InlineData("{\"prompt\": ", 400, "body: is not valid JSON")]
    public async Task Errors_are_four_strings_and_detail_starts_with_the_field(string body, int status, string detail)
    {
        var (code, json, _) = await Server.PostAsync("/sdapi/v1/txt2img", body);
        Assert.Equal(status, code);
        foreach (string key in new[] { "error", "detail", "body", "errors" })
        {
            Assert.Equal(System.Text.Json.JsonValueKind.String, json![key]!.GetValueKind());
        }

        Assert.StartsWith(detail, json!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prompt_length_and_body_size_are_limited()
    {
        var (status, json, _) = await Server.PostAsync("/sdapi/v1/txt2img", new { prompt = new string('a', 32 * 1024 + 1) });
        Assert.Equal(400, status);
        Assert.StartsWith("prompt: must be at most 32768 characters", json!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var (bodyStatus, bodyJson, _) = await Server.PostAsync("/sdapi/v1/txt2img", new { prompt = "x", padding = new string('a', 31 * 1024 * 1024) });
        Assert.Equal(400, bodyStatus);
        Assert.StartsWith("body: must be at most 31457280 bytes, found ", bodyJson!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Img2img_refuses_masks_urls_and_oversized_images()
    {
        var (maskStatus, mask, _) = await Server.PostAsync("/sdapi/v1/img2img", new { init_images = new[] { "AAAA" }, mask = "AAAA" });
        Assert.Equal(400, maskStatus);
        Assert.StartsWith("mask: inpainting is not supported yet", mask!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        var (urlStatus, url, _) = await Server.PostAsync("/sdapi/v1/img2img", new { init_images = new[] { "https://example.com/cat.png" } });
        Assert.Equal(400, urlStatus);
        Assert.StartsWith("init_images[0]: URLs are not accepted", url!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        byte[] huge = Ras.IO.Images.PngWriter.Encode(new byte[2049 * 2048 * 3], 2049, 2048);
        var (sizeStatus, size, _) = await Server.PostAsync("/sdapi/v1/img2img", new { init_images = new[] { Convert.ToBase64String(huge) } });
        Assert.Equal(400, sizeStatus);
        Assert.StartsWith("init_images[0]: must be at most 4194304 pixels decoded, found 2049×2048", size!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Png_info_returns_the_exact_text()
    {
        Txt2Img result = await Server.Txt2ImgAsync(new { prompt = "一只猫, a cat", seed = 2, steps = 3, alwayson_scripts = new { RAS = new { args = new object[] { true } } } });
        foreach (string image in new[] { Convert.ToBase64String(result.Images[0]), "data:image/png;base64," + Convert.ToBase64String(result.Images[0]) })
        {
            var (status, info, _) = await Server.PostAsync("/sdapi/v1/png-info", new { image });
            Assert.Equal(200, status);
            Assert.Equal(result.Infotexts[0], info!["info"]!.GetValue<string>());
            Assert.Equal("一只猫, a cat", info["parameters"]!["Prompt"]!.GetValue<string>());
            Assert.Equal("0.5", info["parameters"]!["RAS sample ratio"]!.GetValue<string>());   // the model's --ras preset
        }
    }

    [Fact]
    public async Task The_cli_and_the_server_write_the_same_png_for_the_same_request()
    {
        string path = Path.Combine(Path.GetTempPath(), $"ras-cli-{Guid.NewGuid():N}.png");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            int code = await CliApp.RunAsync(["generate", Prompt, "--seed", "9", "--steps", "5", "--ras", "--out", path], output, error, CancellationToken.None);
            Assert.True(code == 0, error.ToString());
            Txt2Img result = await Server.Txt2ImgAsync(new { prompt = Prompt, seed = 9, steps = 5, alwayson_scripts = new { RAS = new { args = new object[] { true } } } });
            Assert.Equal(File.ReadAllBytes(path), result.Images[0]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Capabilities_publish_the_limits_and_the_ras_arguments()
    {
        var (status, caps) = await Server.GetAsync("/ras/v1/capabilities");
        Assert.Equal(200, status);
        Assert.Equal(2048, caps!["limits"]!["max_size"]!.GetValue<int>());
        Assert.Equal(150, caps["limits"]!["max_steps"]!.GetValue<int>());
        Assert.Equal(16, caps["queue"]!["size"]!.GetValue<int>());
        Assert.Equal("sample_ratio", caps["ras"]!["alwayson_scripts_args"]![1]!.GetValue<string>());
        Assert.Equal(4, caps["models"]![0]!["defaults"]!["size_multiple"]!.GetValue<int>());
    }
}

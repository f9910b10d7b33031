using System.Text.Json.Nodes;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.Clients;

/// <summary>
/// Real npm clients (openai v6, modelfusion's Automatic1111 model, node-sd-webui) run by node against a server on the built-in
/// model. modelfusion and node-sd-webui cannot send always-on scripts, so RAS is turned on for them the way such clients can:
/// the server's stored options (<c>POST /sdapi/v1/options {"ras_enabled": true}</c>).
/// </summary>
public sealed class NodeClientTests
{
    private static async Task<TestServer> StartWithRasOnAsync()
    {
        TestServer server = await TestServer.StartAsync();
        var (status, _, _) = await server.PostAsync("/sdapi/v1/options", new { ras_enabled = true });
        Assert.Equal(200, status);
        return server;
    }

    [Fact]
    public async Task Openai_v6_generates_b64_json_and_reads_error_objects()
    {
        await using TestServer server = await TestServer.StartAsync();
        JsonNode result = ExternalTools.RunNode("openai.mjs", server.Address);
        var images = result["images"]!.AsArray().Select(i => Convert.FromBase64String(i!.GetValue<string>())).ToList();
        Assert.Equal(2, images.Count);
        foreach (byte[] png in images)
        {
            Png.Decode(png, 64, 64);
            Assert.Contains("RAS sample ratio: 0.5", Png.Parameters(png), StringComparison.Ordinal);
        }

        Assert.Equal(images[1], Convert.FromBase64String(result["again"]!.GetValue<string>()));   // its seed made it again
        JsonNode error = result["error"]!;
        Assert.Equal(400, error["status"]!.GetValue<int>());
        Assert.Equal("BadRequestError", error["name"]!.GetValue<string>());
        Assert.Equal("size", error["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.StartsWith("size: must be a multiple of 4", error["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Modelfusion_automatic1111_model_generates_and_parses_errors()
    {
        await using TestServer server = await StartWithRasOnAsync();
        JsonNode result = ExternalTools.RunNode("modelfusion.mjs", server.Address);
        byte[] png = Convert.FromBase64String(result["image"]!.GetValue<string>());
        Png.Decode(png, 64, 64);
        JsonNode info = JsonNode.Parse(result["info"]!.GetValue<string>())!;
        Assert.Equal(11, info["seed"]!.GetValue<long>());
        Assert.Equal(Png.Parameters(png), info["infotexts"]![0]!.GetValue<string>());
        Assert.Contains("Negative prompt: blurry\nSteps: 6, Sampler: Euler, CFG scale: 4, Seed: 11, Size: 64x64", Png.Parameters(png), StringComparison.Ordinal);
        Assert.Contains("RAS sample ratio: 0.5", Png.Parameters(png), StringComparison.Ordinal);
        Txt2Img again = await server.Txt2ImgAsync(new { prompt = "a small red circle at the center on a blue background", negative_prompt = "blurry", steps = 6, cfg_scale = 4, seed = 11 });
        Assert.Equal(png, again.Images[0]);

        // modelfusion's error schema needs {error, detail, body, errors} as strings; its message is the detail.
        JsonNode error = result["error"]!;
        Assert.Equal("ApiCallError", error["name"]!.GetValue<string>());
        Assert.Equal(400, error["statusCode"]!.GetValue<int>());
        Assert.StartsWith("width: must be a multiple of 4 within 64–64, found 63", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Node_sd_webui_txt2img_img2img_and_png_info()
    {
        await using TestServer server = await StartWithRasOnAsync();
        JsonNode result = ExternalTools.RunNode("sdwebui.mjs", server.Address);
        byte[] txt = Convert.FromBase64String(result["txt"]!["image"]!.GetValue<string>());
        byte[] img = Convert.FromBase64String(result["img"]!["image"]!.GetValue<string>());
        Png.Decode(txt, 64, 64);
        Png.Decode(img, 64, 64);
        Assert.Contains("Denoising strength: 0.75", Png.Parameters(img), StringComparison.Ordinal);
        Assert.Contains("RAS sample ratio: 0.5", Png.Parameters(txt), StringComparison.Ordinal);

        // pngInfo splits the settings line on commas and reads values 0–6 by position.
        JsonNode info = result["pngInfo"]!;
        Assert.Equal("a large blue square at the top left on a yellow background", info["prompt"]!.GetValue<string>());
        Assert.Equal((6, "Euler", 4, 21L, 64, 64, "ras-shapes"), (info["steps"]!.GetValue<int>(), info["samplingMethod"]!.GetValue<string>(),
            info["cfgScale"]!.GetValue<int>(), info["seed"]!.GetValue<long>(), info["width"]!.GetValue<int>(), info["height"]!.GetValue<int>(), info["model"]!.GetValue<string>()));
        Assert.Matches("^[0-9a-f]{10}$", info["modelHash"]!.GetValue<string>());

        Txt2Img again = await server.Txt2ImgAsync(new { prompt = "a large blue square at the top left on a yellow background", steps = 6, seed = info["seed"]!.GetValue<long>() });
        Assert.Equal(txt, again.Images[0]);
    }
}

using System.ClientModel;
using System.Text.RegularExpressions;
using OpenAI;
using OpenAI.Images;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.Clients;

/// <summary>OpenAI's .NET library (NuGet OpenAI 2.x) pointed at the server's /v1.</summary>
public sealed partial class OpenAIDotnetClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ImageClient Client(string model = "ras-shapes") =>
        new(model, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.Address, "v1") });

    [Fact]
    public async Task Image_client_generates_pngs_whose_seed_reproduces_them()
    {
        ClientResult<GeneratedImageCollection> result = await Client().GenerateImagesAsync("a large yellow star at the center on a purple background", 2,
            new ImageGenerationOptions { Size = new GeneratedImageSize(64, 64), ResponseFormat = GeneratedImageFormat.Bytes });
        Assert.Equal(2, result.Value.Count);
        byte[] png = result.Value[1].ImageBytes.ToArray();
        Png.Decode(png, 64, 64);
        string text = Png.Parameters(png);
        long seed = long.Parse(SeedPattern().Match(text).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        var (status, again, _) = await fixture.Server.PostAsync("/v1/images/generations", new { prompt = "a large yellow star at the center on a purple background", size = "64x64", seed });
        Assert.Equal(200, status);
        Assert.Equal(png, Convert.FromBase64String(again!["data"]![0]!["b64_json"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Image_edit_runs_image_to_image()
    {
        byte[] input = Ras.IO.Images.PngWriter.Encode(Enumerable.Range(0, 64 * 64 * 3).Select(i => (byte)(i % 251)).ToArray(), 64, 64);
        using var stream = new MemoryStream(input);
        ClientResult<GeneratedImage> edit = await Client().GenerateImageEditAsync(stream, "input.png", "a small red circle at the center on a blue background",
            new ImageEditOptions { ResponseFormat = GeneratedImageFormat.Bytes });
        byte[] png = edit.Value.ImageBytes.ToArray();
        Png.Decode(png, 64, 64);
        Assert.Contains("Denoising strength: 0.75", Png.Parameters(png), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_carry_status_and_the_field()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => Client().GenerateImageAsync("x",
            new ImageGenerationOptions { Size = new GeneratedImageSize(63, 64), ResponseFormat = GeneratedImageFormat.Bytes }));
        Assert.Equal(400, error.Status);
        Assert.Contains("size: must be a multiple of 4", error.Message, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<ClientResultException>(() => Client("dall-e-3").GenerateImageAsync("x"));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Url_responses_are_refused_naming_the_field()
    {
        var (status, body, _) = await fixture.Server.PostAsync("/v1/images/generations", new { prompt = "x", response_format = "url" });
        Assert.Equal(400, status);
        var error = body!["error"]!;
        Assert.Equal(("response_format", "invalid_request_error"), (error["param"]!.GetValue<string>(), error["type"]!.GetValue<string>()));
        Assert.NotNull(error["message"]);
        Assert.NotNull(error["code"]);

        var (modelsStatus, models) = await fixture.Server.GetAsync("/v1/models");
        Assert.Equal(200, modelsStatus);
        Assert.Equal("ras-shapes", models!["data"]![0]!["id"]!.GetValue<string>());
    }

    [GeneratedRegex(@"Seed: (\d+),")]
    private static partial Regex SeedPattern();
}

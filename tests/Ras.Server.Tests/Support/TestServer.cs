using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Ras.Pipelines;
using Ras.Cli;

namespace Ras.Server.Tests.Support;

/// <summary>A <c>ras serve</c> on 127.0.0.1 and a free port, over the built-in ras-shapes model, stopped on dispose.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private TestServer(RasServer server)
    {
        Server = server;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };
    }

    public RasServer Server { get; }

    public Uri Address => Server.Address;

    public HttpClient Http { get; }

    public static async Task<TestServer> StartAsync(Func<ServerOptions, ServerOptions>? configure = null)
    {
        var options = new ServerOptions { BuiltInModelFolder = BuiltInModel.Unpack().Folder, BuiltInModelName = BuiltInModel.Name, Port = 0 };
        return new TestServer(await RasServer.StartAsync(configure?.Invoke(options) ?? options));
    }

    public async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(string path, object body, AuthenticationHeaderValue? auth = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(body is string text ? text : System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = auth;
        HttpResponseMessage response = await Http.SendAsync(request);
        string content = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, content.Length == 0 ? null : JsonNode.Parse(content), response);
    }

    public async Task<(int Status, JsonNode? Body)> GetAsync(string path, AuthenticationHeaderValue? auth = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = auth;
        using HttpResponseMessage response = await Http.SendAsync(request);
        string content = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, content.Length == 0 ? null : JsonNode.Parse(content));
    }

    /// <summary>POSTs a txt2img body and returns the response with its parsed <c>info</c>.</summary>
    public async Task<Txt2Img> Txt2ImgAsync(object body, string path = "/sdapi/v1/txt2img")
    {
        var (status, json, _) = await PostAsync(path, body);
        Assert.True(status == 200, $"{path}: {status} {json?.ToJsonString()}");
        return new Txt2Img(json!, JsonNode.Parse(json!["info"]!.GetValue<string>())!);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>A txt2img/img2img answer: the response and its <c>info</c> (a JSON string in the response) parsed.</summary>
public sealed record Txt2Img(JsonNode Response, JsonNode Info)
{
    public IReadOnlyList<byte[]> Images => Response["images"]!.AsArray().Select(i => Convert.FromBase64String(i!.GetValue<string>())).ToList();

    public IReadOnlyList<string> Infotexts => Info["infotexts"]!.AsArray().Select(i => i!.GetValue<string>()).ToList();

    public IReadOnlyList<long> Seeds => Info["all_seeds"]!.AsArray().Select(i => i!.GetValue<long>()).ToList();
}

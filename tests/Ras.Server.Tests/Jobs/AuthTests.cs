using System.Net.Http.Headers;
using System.Text;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.Jobs;

/// <summary>--api-auth (HTTP Basic on every API route) and --api-key (Bearer on /v1/*).</summary>
public sealed class AuthTests
{
    private static AuthenticationHeaderValue Basic(string user, string password) => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    [Theory]
    [InlineData("GET", "/sdapi/v1/sd-models")]
    [InlineData("GET", "/sdapi/v1/options")]
    [InlineData("GET", "/sdapi/v1/progress")]
    [InlineData("POST", "/sdapi/v1/txt2img")]
    [InlineData("POST", "/internal/progress")]
    [InlineData("GET", "/ras/v1/capabilities")]
    [InlineData("GET", "/v1/models")]
    [InlineData("POST", "/v1/images/generations")]
    public async Task Every_api_route_needs_the_credentials(string method, string path)
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { ApiAuth = "alice:secret,bob:hunter2" });
        foreach (AuthenticationHeaderValue? auth in new[] { null, Basic("alice", "wrong"), Basic("mallory", "secret") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? new StringContent("{}", Encoding.UTF8, "application/json") : null };
            request.Headers.Authorization = auth;
            using HttpResponseMessage response = await server.Http.SendAsync(request);
            Assert.Equal(401, (int)response.StatusCode);
            Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Basic");
        }

        using var good = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "POST" ? new StringContent(path.EndsWith("generations", StringComparison.Ordinal) ? "{\"prompt\":\"a red circle\",\"steps\":2}" : "{\"steps\":2}", Encoding.UTF8, "application/json") : null,
        };
        good.Headers.Authorization = Basic("bob", "hunter2");
        using HttpResponseMessage ok = await server.Http.SendAsync(good);
        Assert.Equal(200, (int)ok.StatusCode);
    }

    [Theory]
    [InlineData("/internal/ping")]
    [InlineData("/")]
    [InlineData("/app.js")]
    [InlineData("/style.css")]
    [InlineData("/favicon.ico")]
    public async Task Ping_and_the_page_stay_open(string path)
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { ApiAuth = "alice:secret" });
        using HttpResponseMessage response = await server.Http.GetAsync(path);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("basic", response.Headers.GetValues("X-Ras-Auth").Single());
    }

    [Fact]
    public async Task Api_key_is_a_bearer_token_on_v1_only()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { ApiKey = "sk-test" });
        Assert.Equal(200, (await server.GetAsync("/sdapi/v1/sd-models")).Status);
        var (missing, error) = await server.GetAsync("/v1/models");
        Assert.Equal(401, missing);
        Assert.Equal("authentication_error", error!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(401, (await server.GetAsync("/v1/models", new AuthenticationHeaderValue("Bearer", "sk-wrong"))).Status);
        Assert.Equal(200, (await server.GetAsync("/v1/models", new AuthenticationHeaderValue("Bearer", "sk-test"))).Status);
    }

    [Fact]
    public async Task Cors_allows_the_configured_origin()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { CorsAllowOrigins = "http://localhost:3000" });
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/sdapi/v1/txt2img");
        preflight.Headers.Add("Origin", "http://localhost:3000");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using HttpResponseMessage response = await server.Http.SendAsync(preflight);
        Assert.Equal("http://localhost:3000", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}

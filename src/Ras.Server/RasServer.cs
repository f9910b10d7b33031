using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Ras.Server.A1111;
using Ras.Server.Http;
using Ras.Server.OpenAI;

namespace Ras.Server;

/// <summary>
/// <c>ras serve</c>: an A1111/Forge- and OpenAI-compatible image server with a web page, over the pipeline library. One
/// generation runs at a time on the device, the rest wait in a bounded FIFO.
/// </summary>
public sealed class RasServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ServerState state;
    private int stopped;

    private RasServer(WebApplication app, ServerState state, Uri address)
    {
        this.app = app;
        this.state = state;
        Address = address;
    }

    /// <summary>The base address it listens on (e.g. <c>http://127.0.0.1:7861/</c>).</summary>
    public Uri Address { get; }

    /// <summary>Builds and starts a server; the selected model is opened before this returns.</summary>
    /// <exception cref="Errors.OptionsException">Options that cannot work (named).</exception>
    public static async Task<RasServer> StartAsync(ServerOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var state = new ServerState(options);
        try
        {
            WebApplication app = Build(options, state);
            state.Queue.Start();
            await state.WarmUpAsync(cancellation).ConfigureAwait(false);
            await app.StartAsync(cancellation).ConfigureAwait(false);
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new RasServer(app, state, new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"));
        }
        catch
        {
            await state.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops: no new requests, the running job cancelled, waiting ones answered 503, the model freed.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 1)
        {
            return;
        }

        await state.Queue.StopAsync().ConfigureAwait(false);
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(grace.Token).ConfigureAwait(false);
        await state.DisposeAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private static WebApplication Build(ServerOptions options, ServerState state)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, CallerLifetime>();   // the caller (ras serve's Ctrl+C, a test) decides when to stop
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = 2 * options.Limits.MaxBodyBytes;   // over the limit: read and answered 400; over twice: cut off
            kestrel.AddServerHeader = false;
            if (options.Listen)
            {
                kestrel.Listen(IPAddress.Any, options.Port);
            }
            else
            {
                kestrel.Listen(IPAddress.Loopback, options.Port);
            }
        });
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(form => form.MultipartBodyLengthLimit = options.Limits.MaxBodyBytes);   // an edit's form: the same limit
        string[] origins = options.CorsAllowOrigins?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (origins.Length > 0)
        {
            builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod()));
        }

        WebApplication app = builder.Build();
        if (origins.Length > 0)
        {
            app.UseCors();
        }

        app.Use((context, next) => AuthGate.InvokeAsync(context, next, state.Credentials));
        foreach (string path in PageFiles.Paths)
        {
            app.MapGet(path, PageFiles.ServeAsync);
        }

        A1111Api.Map(app, state);
        OpenAIApi.Map(app, state);
        return app;
    }

    /// <summary>A host lifetime that leaves stopping to the caller (no console signal handlers of its own).</summary>
    private sealed class CallerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Ras.Pipelines;
using Ras.Server.Http;
using Ras.Server.Jobs;
using Ras.Server.Models;

namespace Ras.Server;

/// <summary>What every route shares: options, models, the selected checkpoint, stored A1111 options, the queue and the runner.</summary>
internal sealed class ServerState : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, JsonNode?> storedOptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PipelineDefaults> knownDefaults = new(StringComparer.Ordinal);
    private volatile ModelEntry current;

    public ServerState(ServerOptions options)
    {
        Options = options;
        Credentials = Credentials.Create(options.ApiAuth, options.ApiKey);
        Catalog = new ModelCatalog(options);
        current = options.Model is null ? Catalog.Entries[0]
            : Catalog.Find(options.Model) ?? throw new Errors.OptionsException("model", $"no model named {options.Model} (listed: {string.Join(", ", Catalog.Entries.Select(e => e.Name))})");
        Runner = new GenerationRunner(options.Device, options.Components);
        Queue = new GenerationQueue(options.QueueSize, Run);
    }

    public ServerOptions Options { get; }

    public ServerLimits Limits => Options.Limits;

    public Credentials Credentials { get; }

    public ModelCatalog Catalog { get; }

    public GenerationQueue Queue { get; }

    public GenerationRunner Runner { get; }

    /// <summary>The model used when a request names none (A1111's <c>sd_model_checkpoint</c> option).</summary>
    public ModelEntry CurrentModel
    {
        get => current;
        set => current = value;
    }

    /// <summary>A1111 options set through <c>POST /sdapi/v1/options</c> that the server has no use for: stored and echoed.</summary>
    public ConcurrentDictionary<string, JsonNode?> StoredOptions => storedOptions;

    /// <summary>The defaults of a model once it has been opened (sizes are checked against its size step before queueing).</summary>
    public PipelineDefaults? DefaultsOf(ModelEntry model) => knownDefaults.TryGetValue(model.Path, out PipelineDefaults? d) ? d : null;

    public static string NewTaskId() => $"task({Guid.NewGuid():N})";

    public async ValueTask DisposeAsync()
    {
        await Queue.DisposeAsync().ConfigureAwait(false);
        Runner.Dispose();
    }

    private GenerationResult Run(Job job, CancellationToken cancellation)
    {
        GenerationResult result = Runner.Run(job, cancellation);
        if (Runner.DefaultsOf(job.Spec.Model) is { } defaults)
        {
            knownDefaults[job.Spec.Model.Path] = defaults;
        }

        return result;
    }

    /// <summary>Opens the selected model once at start, so its defaults (and its size step) are known before the first request.</summary>
    public async Task WarmUpAsync(CancellationToken cancellation)
    {
        var job = new Job("warm-up", new GenerationSpec { Model = CurrentModel, Prompt = string.Empty, Seed = 0, Iterations = 0 });
        try
        {
            Queue.Enqueue(job);
            await job.Completion.Task.WaitAsync(cancellation).ConfigureAwait(false);
        }
        finally
        {
            job.Dispose();
        }
    }
}

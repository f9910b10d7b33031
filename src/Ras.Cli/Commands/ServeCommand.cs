using System.CommandLine;
using Ras.Cli.Options;
using Ras.Pipelines;
using Ras.Server;

namespace Ras.Cli.Commands;

/// <summary><c>ras serve</c>: the A1111/Forge- and OpenAI-compatible image server with its web page (src/Ras.Server).</summary>
internal sealed class ServeCommand : ICliCommand
{
    private static readonly ServerLimits DefaultLimits = new();
    private readonly Option<string?> modelsDir = new("--models-dir") { Description = "A folder of models: its diffusers pipeline folders and single .safetensors and .gguf files are listed (the built-in ras-shapes model always is)." };
    private readonly Option<string?> model = new("--model") { Description = "The model selected at start: a name, title or path from the list. Default: the built-in ras-shapes." };
    private readonly Option<int> port = new("--port") { Description = $"Port (0 picks a free one). Default: {ServerOptions.DefaultPort}.", DefaultValueFactory = _ => ServerOptions.DefaultPort };
    private readonly Option<bool> listen = new("--listen") { Description = "Listen on every interface; otherwise 127.0.0.1 only." };
    private readonly Option<string?> apiAuth = new("--api-auth") { Description = "HTTP Basic credentials user:pass[,user:pass] required on every API route (/sdapi, /ras, /internal/progress, /v1); /internal/ping and the page stay open." };
    private readonly Option<string?> apiKey = new("--api-key") { Description = "A key OpenAI clients send as 'Authorization: Bearer KEY' on /v1/*." };
    private readonly Option<string?> cors = new("--cors-allow-origins") { Description = "Comma-separated origins allowed to call the API from a browser (CORS)." };
    private readonly Option<int> queueSize = new("--queue-size") { Description = "Jobs that may wait behind the running one; more get 429 with Retry-After. Default: 16.", DefaultValueFactory = _ => 16 };
    private readonly Option<int> minSize = new("--min-size") { Description = $"Smallest width/height accepted. Default: {DefaultLimits.MinSize}.", DefaultValueFactory = _ => DefaultLimits.MinSize };
    private readonly Option<int> maxSize = new("--max-size") { Description = $"Largest width/height accepted. Default: {DefaultLimits.MaxSize}.", DefaultValueFactory = _ => DefaultLimits.MaxSize };
    private readonly Option<int> maxSteps = new("--max-steps") { Description = $"Most steps accepted. Default: {DefaultLimits.MaxSteps}.", DefaultValueFactory = _ => DefaultLimits.MaxSteps };
    private readonly Option<int> maxBatch = new("--max-batch-size") { Description = $"Most images per batch (batch_size, OpenAI n). Default: {DefaultLimits.MaxBatchSize}.", DefaultValueFactory = _ => DefaultLimits.MaxBatchSize };
    private readonly Option<int> maxIterations = new("--max-n-iter") { Description = $"Most batches per request (n_iter). Default: {DefaultLimits.MaxIterations}.", DefaultValueFactory = _ => DefaultLimits.MaxIterations };
    private readonly Option<int> maxPrompt = new("--max-prompt-length") { Description = $"Longest prompt in characters. Default: {DefaultLimits.MaxPromptLength}.", DefaultValueFactory = _ => DefaultLimits.MaxPromptLength };
    private readonly Option<int> maxBodyMb = new("--max-body-mb") { Description = "Largest request body in MiB. Default: 30.", DefaultValueFactory = _ => 30 };
    private readonly Option<int> maxInitImage = new("--max-init-image-size") { Description = "Largest decoded init image edge: width × height at most its square. Default: 2048.", DefaultValueFactory = _ => 2048 };
    private readonly ComponentFileFlags components = new();
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("serve", "Serve an AUTOMATIC1111/Forge-compatible API (/sdapi/v1), an OpenAI-compatible Images API (/v1) and a web page (/), with RAS on a switch. One generation runs at a time; Ctrl+C stops it cleanly.")
        {
            modelsDir, model, port, listen, apiAuth, apiKey, cors, queueSize, minSize, maxSize, maxSteps, maxBatch, maxIterations, maxPrompt, maxBodyMb, maxInitImage,
        };
        components.AddTo(command);
        compute.AddTo(command);
        return command;
    }

    public async Task<int> RunAsync(ParseResult result, CliContext context)
    {
        var device = compute.Apply(result);
        int initEdge = result.GetValue(maxInitImage);
        var options = new ServerOptions
        {
            BuiltInModelFolder = context.BuiltInModelFolder(),
            BuiltInModelName = BuiltInModel.Name,
            ModelsDir = result.GetValue(modelsDir),
            Model = result.GetValue(model),
            Port = result.GetValue(port),
            Listen = result.GetValue(listen),
            ApiAuth = result.GetValue(apiAuth),
            ApiKey = result.GetValue(apiKey),
            CorsAllowOrigins = result.GetValue(cors),
            QueueSize = result.GetValue(queueSize),
            Components = components.Apply(result),
            Device = device,
            Limits = new ServerLimits
            {
                MinSize = result.GetValue(minSize),
                MaxSize = result.GetValue(maxSize),
                MaxSteps = result.GetValue(maxSteps),
                MaxBatchSize = result.GetValue(maxBatch),
                MaxIterations = result.GetValue(maxIterations),
                MaxPromptLength = result.GetValue(maxPrompt),
                MaxBodyBytes = result.GetValue(maxBodyMb) * 1024L * 1024,
                MaxInitImagePixels = (long)initEdge * initEdge,
            },
        };

        await using RasServer server = await RasServer.StartAsync(options, context.Cancellation).ConfigureAwait(false);
        context.Out.WriteLine($"ras serve: listening on {server.Address} (A1111 API at {server.Address}sdapi/v1, OpenAI API at {server.Address}v1, page at {server.Address})");
        context.Out.WriteLine("Press Ctrl+C to stop.");
        context.Out.Flush();
        try
        {
            await Task.Delay(Timeout.Infinite, context.Cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        context.Out.WriteLine("ras serve: stopping (the running job is cancelled)");
        await server.StopAsync().ConfigureAwait(false);
        context.Out.WriteLine("ras serve: stopped");
        return ExitCodes.Ok;
    }
}

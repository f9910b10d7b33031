using static TorchSharp.torch;

namespace Ras.Server;

/// <summary>How <c>ras serve</c> runs: where models come from, where it listens, who may call it, and its limits.</summary>
public sealed record ServerOptions
{
    /// <summary>The default port, next to A1111's 7860.</summary>
    public const int DefaultPort = 7861;

    /// <summary>The built-in model's folder (always listed, as <see cref="BuiltInModelName"/>).</summary>
    public required string BuiltInModelFolder { get; init; }

    /// <summary>The built-in model's name.</summary>
    public string BuiltInModelName { get; init; } = "ras-shapes";

    /// <summary>A folder whose diffusers pipeline folders and single <c>.safetensors</c> / <c>.gguf</c> files are listed as models; null for none.</summary>
    public string? ModelsDir { get; init; }

    /// <summary>
    /// Text encoder and VAE files used with every single-file model (as Forge's VAE / Text Encoder choice), so a GGUF or fp8
    /// transformer runs without a diffusers folder; pipeline folders keep their own components.
    /// </summary>
    public Pipelines.ComponentFiles Components { get; init; } = Pipelines.ComponentFiles.None;

    /// <summary>The model selected at start (a name, title or path); null for the built-in one.</summary>
    public string? Model { get; init; }

    /// <summary>Port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Listen on every interface; otherwise 127.0.0.1 only.</summary>
    public bool Listen { get; init; }

    /// <summary>HTTP Basic credentials <c>user:pass[,user:pass]</c> required on every API route; null for none.</summary>
    public string? ApiAuth { get; init; }

    /// <summary>A key OpenAI clients send as <c>Authorization: Bearer KEY</c> on <c>/v1/*</c>; null for none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Origins allowed to call the API from a browser (CORS), comma-separated; null for none.</summary>
    public string? CorsAllowOrigins { get; init; }

    /// <summary>Pending jobs, not counting the running one; more get 429 with <c>Retry-After</c>. Default 16.</summary>
    public int QueueSize { get; init; } = 16;

    /// <summary>The compute device (null = CPU). One generation runs at a time on it.</summary>
    public Device? Device { get; init; }

    /// <summary>The server's request limits (the CLI and the library keep their own validation).</summary>
    public ServerLimits Limits { get; init; } = new();

    /// <summary>Throws <see cref="Errors.OptionsException"/> naming the option for values that cannot work.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new Errors.OptionsException("port", $"must be in 0–65535, found {Port}");
        }

        if (QueueSize < 0)
        {
            throw new Errors.OptionsException("queue-size", $"must be ≥ 0, found {QueueSize}");
        }

        foreach ((string flag, string path) in Components.Given)
        {
            if (!File.Exists(path))
            {
                throw new Errors.OptionsException(flag, $"{path}: no such file");
            }
        }

        if (ModelsDir is not null && !Directory.Exists(ModelsDir))
        {
            throw new Errors.OptionsException("models-dir", $"{ModelsDir} is not a folder");
        }

        if (ApiAuth is not null)
        {
            _ = Http.Credentials.Parse(ApiAuth);
        }

        Limits.Validate();
    }
}

/// <summary>The server's limits, published at <c>GET /ras/v1/capabilities</c>; each violation is a 400 naming the field.</summary>
public sealed record ServerLimits
{
    /// <summary>Smallest width/height in pixels.</summary>
    public int MinSize { get; init; } = 64;

    /// <summary>Largest width/height in pixels.</summary>
    public int MaxSize { get; init; } = 2048;

    /// <summary>Most denoising steps.</summary>
    public int MaxSteps { get; init; } = 150;

    /// <summary>Most images per batch (<c>batch_size</c>, OpenAI <c>n</c>).</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>Most batches per request (<c>n_iter</c>).</summary>
    public int MaxIterations { get; init; } = 16;

    /// <summary>Longest prompt (and negative prompt) in characters.</summary>
    public int MaxPromptLength { get; init; } = 32 * 1024;

    /// <summary>Largest request body in bytes.</summary>
    public long MaxBodyBytes { get; init; } = 30L * 1024 * 1024;

    /// <summary>Largest decoded init image, in pixels (width × height).</summary>
    public long MaxInitImagePixels { get; init; } = 2048L * 2048;

    /// <summary>Throws <see cref="Errors.OptionsException"/> for limits that cannot work.</summary>
    public void Validate()
    {
        foreach ((string name, long value) in new (string, long)[]
        {
            ("min-size", MinSize), ("max-size", MaxSize), ("max-steps", MaxSteps), ("max-batch-size", MaxBatchSize), ("max-n-iter", MaxIterations),
            ("max-prompt-length", MaxPromptLength), ("max-body-bytes", MaxBodyBytes), ("max-init-image-pixels", MaxInitImagePixels),
        })
        {
            if (value < 1)
            {
                throw new Errors.OptionsException(name, $"must be at least 1, found {value}");
            }
        }

        if (MinSize > MaxSize)
        {
            throw new Errors.OptionsException("min-size", $"must not exceed max-size ({MaxSize}), found {MinSize}");
        }
    }
}

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.RegionAdaptive;
using Ras.Server.Http;
using Ras.Server.Jobs;

namespace Ras.Server.A1111;

/// <summary>
/// The AUTOMATIC1111/Forge web API (<c>/sdapi/v1/*</c>, <c>/internal/*</c>) with the request and response shapes its clients
/// parse, plus our <c>/ras/v1/capabilities</c>.
/// </summary>
internal static class A1111Api
{
    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        app.MapPost("/sdapi/v1/txt2img", context => Guarded(context, () => GenerateAsync(context, state, imageToImage: false)));
        app.MapPost("/sdapi/v1/img2img", context => Guarded(context, () => GenerateAsync(context, state, imageToImage: true)));
        app.MapGet("/sdapi/v1/progress", context => Guarded(context, () => HttpJson.WriteAsync(context, Progress(state, context.Request.Query["skip_current_image"] == "true"))));
        app.MapPost("/sdapi/v1/interrupt", context => Guarded(context, () =>
        {
            state.Queue.Active?.Interrupt();
            return HttpJson.WriteAsync(context, new JsonObject());
        }));
        app.MapPost("/sdapi/v1/skip", context => Guarded(context, () =>
        {
            state.Queue.Active?.Skip();
            return HttpJson.WriteAsync(context, new JsonObject());
        }));
        app.MapGet("/sdapi/v1/options", context => Guarded(context, () => HttpJson.WriteAsync(context, Options(state))));
        app.MapPost("/sdapi/v1/options", context => Guarded(context, () => SetOptionsAsync(context, state)));
        app.MapGet("/sdapi/v1/sd-models", context => Guarded(context, () => HttpJson.WriteAsync(context, Models(state))));
        app.MapPost("/sdapi/v1/refresh-checkpoints", context => Guarded(context, () =>
        {
            state.Catalog.Refresh();
            return HttpJson.WriteAsync(context, null);
        }));
        app.MapGet("/sdapi/v1/samplers", context => Guarded(context, () => HttpJson.WriteAsync(context, new JsonArray(
            new JsonObject { ["name"] = Infotext.SamplerName, ["aliases"] = new JsonArray("k_euler", "euler"), ["options"] = new JsonObject() }))));
        app.MapGet("/sdapi/v1/schedulers", context => Guarded(context, () => HttpJson.WriteAsync(context, new JsonArray(
            new JsonObject { ["name"] = "automatic", ["label"] = "Automatic", ["aliases"] = null, ["default_rho"] = -1, ["need_inner_model"] = false }))));
        app.MapGet("/sdapi/v1/upscalers", context => Guarded(context, () => HttpJson.WriteAsync(context, new JsonArray(
            new JsonObject { ["name"] = "None", ["model_name"] = null, ["model_path"] = null, ["model_url"] = null, ["scale"] = 4 }))));
        foreach (string empty in new[] { "latent-upscale-modes", "sd-vae", "sd-modules", "hypernetworks", "face-restorers", "realesrgan-models", "prompt-styles", "loras" })
        {
            app.MapGet($"/sdapi/v1/{empty}", context => Guarded(context, () => HttpJson.WriteAsync(context, new JsonArray())));
        }

        app.MapGet("/sdapi/v1/embeddings", context => Guarded(context, () => HttpJson.WriteAsync(context, new JsonObject { ["loaded"] = new JsonObject(), ["skipped"] = new JsonObject() })));
        app.MapGet("/sdapi/v1/cmd-flags", context => Guarded(context, () => HttpJson.WriteAsync(context, CommandFlags(state))));
        app.MapGet("/sdapi/v1/scripts", context => Guarded(context, () => HttpJson.WriteAsync(context, new JsonObject { ["txt2img"] = new JsonArray("ras"), ["img2img"] = new JsonArray("ras") })));
        app.MapPost("/sdapi/v1/png-info", context => Guarded(context, () => PngInfoAsync(context, state)));
        app.MapGet("/internal/ping", context => HttpJson.WriteAsync(context, new JsonObject()));
        app.MapPost("/internal/progress", context => Guarded(context, () => TaskProgressAsync(context, state)));
        app.MapGet("/ras/v1/capabilities", context => Guarded(context, () => HttpJson.WriteAsync(context, Capabilities(state))));
    }

    /// <summary>A library option name (kebab-case) as the A1111 request field that sets it.</summary>
    public static string FieldOf(string option) => option switch
    {
        "guidance" or "true-cfg" => "cfg_scale",
        "batch" => "batch_size",
        "strength" => "denoising_strength",
        "image" => "init_images",
        "width" or "height" or "steps" or "prompt" => option,
        _ when RasArguments.Names.Contains(option.Replace('-', '_')) => "override_settings.ras_" + option.Replace('-', '_'),
        _ => option.Replace('-', '_'),
    };

    private static Task Guarded(HttpContext context, Func<Task> handler) => HttpJson.GuardedAsync(context, Surface.A1111, FieldOf, handler);

    private static async Task GenerateAsync(HttpContext context, ServerState state, bool imageToImage)
    {
        JsonObject body = await HttpJson.ReadObjectAsync(context, state.Limits.MaxBodyBytes).ConfigureAwait(false);
        (GenerationSpec spec, string? taskId) = A1111Request.Parse(body, state, imageToImage);
        GenerationResult result = await JobRunner.RunAsync(context, state, spec, taskId).ConfigureAwait(false);
        bool send = new JsonFields(body).Bool("send_images") ?? true;
        var response = new JsonObject
        {
            ["images"] = new JsonArray([.. send ? result.Images.Select(i => (JsonNode?)Convert.ToBase64String(i.Png)) : []]),
            ["parameters"] = A1111Request.Echo(body, spec, result),
            ["info"] = A1111Request.Info(spec, result, state).ToJsonString(),
        };
        await HttpJson.WriteAsync(context, response).ConfigureAwait(false);
    }

    private static JsonObject Progress(ServerState state, bool skipImage)
    {
        Job? job = state.Queue.Active;
        var stateObject = new JsonObject
        {
            ["skipped"] = false,
            ["interrupted"] = job?.Interrupted ?? false,
            ["stopping_generation"] = false,
            ["job"] = job is null ? string.Empty : job.Spec.InitImage is null ? "txt2img" : "img2img",
            ["job_count"] = job is null ? 0 : Math.Max(1, job.Spec.ImageCount),
            ["job_timestamp"] = (job?.Started ?? DateTimeOffset.UtcNow).ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture),
            ["job_no"] = job?.Progress?.Iteration ?? 0,
            ["sampling_step"] = job?.Progress?.Step ?? 0,
            ["sampling_steps"] = job?.Progress?.Steps ?? 0,
            ["queued"] = state.Queue.Pending,
        };
        if (job is null)
        {
            return new JsonObject { ["progress"] = 0, ["eta_relative"] = 0, ["state"] = stateObject, ["current_image"] = null, ["textinfo"] = null };
        }

        JobProgress? p = job.Progress;
        double fraction = p?.Fraction ?? 0.01;
        double elapsed = (DateTimeOffset.UtcNow - (job.Started ?? DateTimeOffset.UtcNow)).TotalSeconds;
        return new JsonObject
        {
            ["progress"] = fraction,
            ["eta_relative"] = Math.Max(0, (elapsed / fraction) - elapsed),
            ["state"] = stateObject,
            ["current_image"] = skipImage ? null : Preview(p) is byte[] png ? Convert.ToBase64String(png) : null,
            ["textinfo"] = TextInfo(p),
            ["ras_computed_tokens"] = p?.ComputedTokens ?? 0,
            ["ras_total_tokens"] = p?.TotalTokens ?? 0,
        };
    }

    private static async Task TaskProgressAsync(HttpContext context, ServerState state)
    {
        JsonObject body = await HttpJson.ReadObjectAsync(context, state.Limits.MaxBodyBytes).ConfigureAwait(false);
        var f = new JsonFields(body);
        string id = f.String("id_task") ?? string.Empty;
        int knownPreview = f.Int("id_live_preview") ?? -1;
        bool livePreview = f.Bool("live_preview") ?? true;
        var found = state.Queue.Find(id);
        JsonObject response;
        if (found is not (JobState.Active, _, _) || state.Queue.Active is not { } job || job.Id != id)
        {
            string text = found switch
            {
                (JobState.Queued, int position, int count) => $"In queue: {position}/{count}",
                (JobState.Completed, _, _) => "Done",
                _ => "Waiting...",
            };
            response = new JsonObject
            {
                ["active"] = false,
                ["queued"] = found?.State == JobState.Queued,
                ["completed"] = found?.State == JobState.Completed,
                ["progress"] = found?.State == JobState.Completed ? 1 : null,
                ["eta"] = null,
                ["live_preview"] = null,
                ["id_live_preview"] = knownPreview,
                ["textinfo"] = text,
            };
        }
        else
        {
            JobProgress? p = job.Progress;
            double fraction = p?.Fraction ?? 0.01;
            double elapsed = (DateTimeOffset.UtcNow - (job.Started ?? DateTimeOffset.UtcNow)).TotalSeconds;
            bool fresh = livePreview && p is not null && p.PreviewId > knownPreview && p.Preview is not null;
            response = new JsonObject
            {
                ["active"] = true,
                ["queued"] = false,
                ["completed"] = false,
                ["progress"] = fraction,
                ["eta"] = Math.Max(0, (elapsed / fraction) - elapsed),
                ["live_preview"] = fresh && Preview(p) is byte[] png ? "data:image/png;base64," + Convert.ToBase64String(png) : null,
                ["id_live_preview"] = fresh ? p!.PreviewId : knownPreview,
                ["textinfo"] = TextInfo(p),
                ["job_no"] = p?.Iteration ?? 0,
                ["job_count"] = Math.Max(1, job.Spec.ImageCount),
                ["sampling_step"] = p?.Step ?? 0,
                ["sampling_steps"] = p?.Steps ?? 0,
                ["ras_computed_tokens"] = p?.ComputedTokens ?? 0,
                ["ras_total_tokens"] = p?.TotalTokens ?? 0,
            };
        }

        await HttpJson.WriteAsync(context, response).ConfigureAwait(false);
    }

    private static string TextInfo(JobProgress? p) => p is null || p.Steps == 0 ? "Starting..."
        : $"Image {p.Iteration + 1}/{p.Iterations}, step {p.Step}/{p.Steps}, {p.ComputedTokens}/{p.TotalTokens} tokens computed";

    private static byte[]? Preview(JobProgress? p) => p?.Preview is { } preview ? PngWriter.Encode(preview.Rgb, preview.Width, preview.Height) : null;

    private static JsonObject Options(ServerState state)
    {
        var options = new JsonObject
        {
            ["sd_model_checkpoint"] = state.CurrentModel.Title,
            ["sd_checkpoint_hash"] = state.CurrentModel.Identity.Hash,
            ["samples_format"] = "png",
            ["sd_vae"] = "Automatic",
            ["CLIP_stop_at_last_layers"] = 1,
            ["live_previews_enable"] = true,
            ["show_progress_every_n_steps"] = 1,
        };
        foreach ((string key, JsonNode? value) in state.StoredOptions.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            options[key] = value?.DeepClone();
        }

        return options;
    }

    private static async Task SetOptionsAsync(HttpContext context, ServerState state)
    {
        JsonObject body = await HttpJson.ReadObjectAsync(context, state.Limits.MaxBodyBytes).ConfigureAwait(false);
        if (new JsonFields(body).String("sd_model_checkpoint") is string checkpoint)
        {
            state.CurrentModel = state.Catalog.Find(checkpoint)
                ?? throw ApiException.BadRequest("sd_model_checkpoint", $"no model named {checkpoint}; GET /sdapi/v1/sd-models lists them");
        }

        var ras = new JsonObject();
        foreach ((string key, JsonNode? value) in body)
        {
            if (key.StartsWith("ras_", StringComparison.Ordinal))
            {
                ras[key] = value?.DeepClone();
            }
        }

        _ = RasArguments.FromObject(ras, "ras_", string.Empty);   // stored RAS defaults are checked now, not at the next generation
        foreach ((string key, JsonNode? value) in body)
        {
            if (key is not ("sd_model_checkpoint" or "sd_checkpoint_hash"))
            {
                state.StoredOptions[key] = value?.DeepClone();
            }
        }

        await HttpJson.WriteAsync(context, null).ConfigureAwait(false);
    }

    private static JsonArray Models(ServerState state) => new([.. state.Catalog.Entries.Select(e => (JsonNode?)new JsonObject
    {
        ["title"] = e.Title,
        ["model_name"] = e.Name,
        ["hash"] = e.Identity.Hash,
        ["sha256"] = null,
        ["filename"] = e.Path,
        ["config"] = null,
    })]);

    private static JsonObject CommandFlags(ServerState state) => new()
    {
        ["api"] = true,
        ["nowebui"] = false,
        ["listen"] = state.Options.Listen,
        ["port"] = state.Options.Port,
        ["api_auth"] = state.Credentials.BasicRequired ? "(set)" : null,
        ["api_key"] = state.Credentials.KeyRequired ? "(set)" : null,
        ["cors_allow_origins"] = state.Options.CorsAllowOrigins,
        ["models_dir"] = state.Options.ModelsDir,
        ["ckpt_dir"] = state.Options.ModelsDir,
        ["queue_size"] = state.Options.QueueSize,
        ["device"] = state.Options.Device?.ToString() ?? "cpu",
    };

    private static async Task PngInfoAsync(HttpContext context, ServerState state)
    {
        JsonObject body = await HttpJson.ReadObjectAsync(context, state.Limits.MaxBodyBytes).ConfigureAwait(false);
        string image = new JsonFields(body).String("image") ?? throw ApiException.BadRequest("image", "is required: a base64 PNG or data: URI");
        byte[] bytes = LimitChecks.Base64("image", image.Trim());
        IReadOnlyDictionary<string, string> text = PngText.IsPng(bytes) ? PngText.Read(bytes) : new Dictionary<string, string>();
        string info = text.TryGetValue("parameters", out string? parameters) ? parameters : string.Empty;
        var items = new JsonObject();
        foreach ((string key, string value) in text.Where(kv => kv.Key != "parameters"))
        {
            items[key] = value;
        }

        var parsed = new JsonObject();
        if (info.Length > 0)
        {
            var (prompt, negative, settings) = Infotext.Parse(info);
            parsed["Prompt"] = prompt;
            parsed["Negative prompt"] = negative;
            foreach ((string key, string value) in settings)
            {
                parsed[key] = value;
            }
        }

        await HttpJson.WriteAsync(context, new JsonObject { ["info"] = info, ["items"] = items, ["parameters"] = parsed }).ConfigureAwait(false);
    }

    private static JsonObject Capabilities(ServerState state)
    {
        ServerLimits l = state.Limits;
        return new JsonObject
        {
            ["version"] = ServerInfo.Version,
            ["limits"] = new JsonObject
            {
                ["min_size"] = l.MinSize,
                ["max_size"] = l.MaxSize,
                ["max_steps"] = l.MaxSteps,
                ["max_batch_size"] = l.MaxBatchSize,
                ["max_n_iter"] = l.MaxIterations,
                ["max_prompt_length"] = l.MaxPromptLength,
                ["max_body_bytes"] = l.MaxBodyBytes,
                ["max_init_image_pixels"] = l.MaxInitImagePixels,
            },
            ["queue"] = new JsonObject
            {
                ["size"] = state.Queue.Capacity,
                ["pending"] = state.Queue.Pending,
                ["active"] = state.Queue.Active is not null,
                ["max_pending_observed"] = state.Queue.MaxPendingObserved,
                ["completed"] = state.Queue.CompletedCount,
                ["rejected"] = state.Queue.RejectedCount,
            },
            ["models"] = new JsonArray([.. state.Catalog.Entries.Select(e => (JsonNode?)ModelCapabilities(e, state))]),
            ["sd_model_checkpoint"] = state.CurrentModel.Title,
            ["samplers"] = new JsonArray(Infotext.SamplerName),
            ["ras"] = new JsonObject
            {
                ["alwayson_scripts_args"] = new JsonArray([.. RasArguments.Names.Select(n => (JsonNode?)n)]),
                ["override_settings"] = new JsonArray([.. RasArguments.OverrideKeys.Select(n => (JsonNode?)n)]),
                ["infotext_keys"] = new JsonArray([.. Infotext.RasKeys.Select(n => (JsonNode?)n)]),
            },
            ["image_to_image"] = true,
            ["inpainting"] = false,
            ["memory"] = Memory(),
        };
    }

    /// <summary>Where the process's memory is (the load test compares it between the warm-up's end and the run's end).</summary>
    private static JsonObject Memory()
    {
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new JsonObject
        {
            ["resident_bytes"] = process.WorkingSet64,
            ["managed_heap_bytes"] = gc.HeapSizeBytes,
            ["managed_committed_bytes"] = gc.TotalCommittedBytes,
            ["threads"] = process.Threads.Count,
        };
    }

    private static JsonObject ModelCapabilities(Models.ModelEntry entry, ServerState state)
    {
        var model = new JsonObject { ["title"] = entry.Title, ["name"] = entry.Name, ["hash"] = entry.Identity.Hash, ["built_in"] = entry.BuiltIn };
        if (state.DefaultsOf(entry) is { } d)
        {
            RasOptions ras = d.RecommendedRasFor(d.Width, d.Height);
            model["defaults"] = new JsonObject
            {
                ["width"] = d.Width,
                ["height"] = d.Height,
                ["steps"] = d.Steps,
                ["guidance"] = d.GuidanceScale,
                ["guidance_kind"] = d.GuidanceKind.ToString(),
                ["size_multiple"] = d.SizeMultiple,
                ["max_size"] = Math.Min(d.MaxSize, state.Limits.MaxSize),
                ["ras_sample_ratio"] = ras.SampleRatio,
            };
        }

        return model;
    }
}

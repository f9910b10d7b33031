using System.Globalization;
using System.Text.Json.Nodes;
using Ras.Pipelines;
using Ras.Server.Http;
using Ras.Server.Jobs;
using Ras.Server.Models;

namespace Ras.Server.A1111;

/// <summary>
/// A <c>txt2img</c> / <c>img2img</c> body as A1111 and Forge accept it, read into a <see cref="GenerationSpec"/>. Every field is
/// optional; left-out ones take the selected model's defaults; unknown top-level fields are ignored.
/// </summary>
internal static class A1111Request
{
    /// <summary>Fields A1111 has that change nothing here; a true value gets a warning instead of an error.</summary>
    private static readonly string[] IgnoredSwitches = ["enable_hr", "restore_faces", "tiling"];

    public static (GenerationSpec Spec, string? TaskId) Parse(JsonObject body, ServerState state, bool imageToImage)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(state);
        var f = new JsonFields(body);
        ServerLimits limits = state.Limits;
        var warnings = new List<string>();

        // The model: override_settings.sd_model_checkpoint for this request, else the selected one.
        JsonObject? overrides = f.Object("override_settings");
        ModelEntry model = state.CurrentModel;
        if (overrides is not null && new JsonFields(overrides, "override_settings.").String("sd_model_checkpoint") is string checkpoint && checkpoint.Length > 0)
        {
            model = state.Catalog.Find(checkpoint)
                ?? throw ApiException.BadRequest("override_settings.sd_model_checkpoint", $"no model named {checkpoint}; GET /sdapi/v1/sd-models lists them");
        }

        PipelineDefaults? defaults = state.DefaultsOf(model);
        string sampler = f.String("sampler_name") ?? f.String("sampler_index") ?? Infotext.SamplerName;
        if (!string.Equals(sampler, Infotext.SamplerName, StringComparison.OrdinalIgnoreCase) && sampler.Length > 0)
        {
            warnings.Add($"sampler '{sampler}' is not available; {Infotext.SamplerName} (flow-matching) was used");
        }

        foreach (string name in IgnoredSwitches)
        {
            if (f.Bool(name) == true)
            {
                warnings.Add($"{name} is not supported and was ignored");
            }
        }

        if (f.String("script_name") is { Length: > 0 } script)
        {
            throw new ApiException(422, "script_name", $"script '{script}' not found");
        }

        // RAS: the server's stored options (POST /sdapi/v1/options with ras_* keys: for clients that cannot send scripts), then the
        // always-on extension's positional args, then override_settings' ras_* keys on top.
        (bool? enabled, RasPatch patch) = StoredRas(state);
        if (f.Object("alwayson_scripts") is JsonObject scripts)
        {
            foreach ((string name, JsonNode? value) in scripts)
            {
                if (!string.Equals(name, "RAS", StringComparison.OrdinalIgnoreCase))
                {
                    throw new ApiException(422, $"alwayson_scripts.{name}", $"always on script {name} not found");
                }

                JsonArray? args = value is JsonObject o ? new JsonFields(o, $"alwayson_scripts.{name}.").Array("args") : null;
                (enabled, patch) = args is null ? (true, patch) : RasArguments.FromArgs(args, $"alwayson_scripts.{name}.args");
                enabled ??= true;
            }
        }

        if (overrides is not null)
        {
            (bool? overrideEnabled, RasPatch overridePatch) = RasArguments.FromObject(overrides, "ras_", "override_settings.");
            enabled = overrideEnabled ?? (overridePatch.IsEmpty ? enabled : true);
            patch = patch.Then(overridePatch);
        }

        GenerationSpec spec = new()
        {
            Model = model,
            Prompt = LimitChecks.Prompt(limits, "prompt", f.String("prompt") ?? string.Empty),
            NegativePrompt = LimitChecks.Prompt(limits, "negative_prompt", f.String("negative_prompt") ?? string.Empty),
            Width = f.Int("width") is int w ? LimitChecks.Size(limits, "width", w, defaults) : null,
            Height = f.Int("height") is int h ? LimitChecks.Size(limits, "height", h, defaults) : null,
            Steps = f.Int("steps") is int steps ? LimitChecks.Range("steps", steps, 1, limits.MaxSteps) : null,
            CfgScale = f.Double("cfg_scale") is double cfg ? LimitChecks.Guidance("cfg_scale", cfg) : null,
            DistilledCfgScale = f.Double("distilled_cfg_scale") is double distilled ? LimitChecks.Guidance("distilled_cfg_scale", distilled) : null,
            Seed = Seed(f.Long("seed")),
            BatchSize = f.Int("batch_size") is int batch ? LimitChecks.Range("batch_size", batch, 1, limits.MaxBatchSize) : 1,
            Iterations = f.Int("n_iter") is int iterations ? LimitChecks.Range("n_iter", iterations, 1, limits.MaxIterations) : 1,
            Ras = enabled == true ? new RasRequest(true, patch) : RasRequest.Off,
            Heatmaps = f.Bool("ras_heatmap") ?? false,
            Warnings = warnings,
        };
        if (imageToImage)
        {
            if (f.Has("mask"))
            {
                throw ApiException.BadRequest("mask", "inpainting is not supported yet; send init_images without a mask");
            }

            JsonArray images = f.Array("init_images") ?? throw ApiException.BadRequest("init_images", "is required: a list of base64 images or data: URIs");
            if (images.Count == 0 || images[0] is not JsonValue first || first.GetValueKind() != System.Text.Json.JsonValueKind.String)
            {
                throw ApiException.BadRequest("init_images", "must hold at least one base64 image or data: URI string");
            }

            if (images.Count > 1)
            {
                warnings.Add($"init_images holds {images.Count} images; the first was used");
            }

            spec = spec with
            {
                InitImage = LimitChecks.Image(limits, "init_images[0]", first.GetValue<string>()),
                Strength = f.Double("denoising_strength") is double strength ? LimitChecks.Strength("denoising_strength", strength) : 0.75,
            };
        }

        return (spec, f.String("force_task_id"));
    }

    /// <summary>The RAS settings stored with <c>POST /sdapi/v1/options</c> (<c>ras_*</c> keys): every request's starting point.</summary>
    public static (bool? Enabled, RasPatch Patch) StoredRas(ServerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var stored = new JsonObject();
        foreach (string key in RasArguments.OverrideKeys)
        {
            if (state.StoredOptions.TryGetValue(key, out JsonNode? value))
            {
                stored[key] = value?.DeepClone();
            }
        }

        (bool? enabled, RasPatch patch) = RasArguments.FromObject(stored, "ras_", "options.");
        return (enabled ?? (patch.IsEmpty ? null : true), patch);
    }

    /// <summary>A1111's seeds: −1 (or any negative, or none) draws a random one in [0, 2³²), which is reported.</summary>
    private static long Seed(long? seed) => seed is long s and >= 0 ? s : Random.Shared.NextInt64(0, uint.MaxValue);

    /// <summary>The request echoed with the values the job used filled in (A1111's <c>parameters</c>).</summary>
    public static JsonObject Echo(JsonObject body, GenerationSpec spec, GenerationResult result)
    {
        ArgumentNullException.ThrowIfNull(body);
        var echo = (JsonObject)body.DeepClone();
        void Fill(string key, JsonNode? value)
        {
            if (echo[key] is null)
            {
                echo[key] = value;
            }
        }

        Fill("prompt", spec.Prompt);
        Fill("negative_prompt", spec.NegativePrompt);
        Fill("seed", spec.Seed);
        Fill("sampler_name", Infotext.SamplerName);
        Fill("batch_size", spec.BatchSize);
        Fill("n_iter", spec.Iterations);
        Fill("steps", result.Steps);
        Fill("cfg_scale", result.CfgScale);
        Fill("width", result.Width);
        Fill("height", result.Height);
        if (result.DistilledCfgScale is double distilled)
        {
            Fill("distilled_cfg_scale", distilled);
        }

        if (echo.ContainsKey("init_images") && echo["include_init_images"]?.GetValue<bool>() != true)
        {
            echo["init_images"] = null;
        }

        if (spec.InitImage is not null)
        {
            Fill("denoising_strength", spec.Strength);
        }

        return echo;
    }

    /// <summary>A1111's <c>info</c> object (serialized as a JSON string in the response).</summary>
    public static JsonObject Info(GenerationSpec spec, GenerationResult result, ServerState state)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(result);
        var seeds = result.Images.Select(i => i.Seed).ToList();
        long first = seeds.Count > 0 ? seeds[0] : spec.Seed;
        var extra = new JsonObject();
        if (result.Ras.Enabled)
        {
            foreach ((string key, string value) in Infotext.RasSettings(result.Ras, result.Steps))
            {
                extra[key] = value;
            }
        }

        if (result.DistilledCfgScale is double d)
        {
            extra["Distilled CFG Scale"] = d;
        }

        var info = new JsonObject
        {
            ["prompt"] = spec.Prompt,
            ["all_prompts"] = Array(seeds.Select(_ => (JsonNode?)spec.Prompt)),
            ["negative_prompt"] = spec.NegativePrompt,
            ["all_negative_prompts"] = Array(seeds.Select(_ => (JsonNode?)spec.NegativePrompt)),
            ["seed"] = first,
            ["all_seeds"] = Array(seeds.Select(s => (JsonNode?)s)),
            ["subseed"] = -1,
            ["all_subseeds"] = Array(seeds.Select(_ => (JsonNode?)(-1))),
            ["subseed_strength"] = 0,
            ["width"] = result.Width,
            ["height"] = result.Height,
            ["sampler_name"] = Infotext.SamplerName,
            ["cfg_scale"] = result.CfgScale,
            ["steps"] = result.Steps,
            ["batch_size"] = spec.BatchSize,
            ["restore_faces"] = false,
            ["face_restoration_model"] = null,
            ["sd_model_name"] = result.Model.Name,
            ["sd_model_hash"] = result.Model.Identity.Hash,
            ["sd_vae_name"] = null,
            ["sd_vae_hash"] = null,
            ["seed_resize_from_w"] = -1,
            ["seed_resize_from_h"] = -1,
            ["denoising_strength"] = spec.InitImage is null ? 0 : spec.Strength,
            ["extra_generation_params"] = extra,
            ["index_of_first_image"] = 0,
            ["infotexts"] = Array(result.Images.Select(i => (JsonNode?)i.Infotext)),
            ["styles"] = new JsonArray(),
            ["job_timestamp"] = result.Started.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture),
            ["clip_skip"] = 1,
            ["is_using_inpainting_conditioning"] = false,
            ["version"] = ServerInfo.Version,
            ["ras_enabled"] = result.Ras.Enabled,
            ["interrupted"] = result.Interrupted,
            ["warnings"] = Array(result.Warnings.Select(w => (JsonNode?)w)),
        };
        if (result.DistilledCfgScale is double distilled)
        {
            info["distilled_cfg_scale"] = distilled;
        }

        if (spec.Heatmaps)
        {
            info["ras_heatmaps"] = Array(result.Images.Select(i => (JsonNode?)(i.HeatmapPng is null ? null : Convert.ToBase64String(i.HeatmapPng))));
        }

        return info;
    }

    private static JsonArray Array(IEnumerable<JsonNode?> items) => new([.. items]);
}

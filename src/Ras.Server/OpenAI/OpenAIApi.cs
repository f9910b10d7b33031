using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Ras.Server.A1111;
using Ras.Server.Http;
using Ras.Server.Jobs;
using Ras.Server.Models;

namespace Ras.Server.OpenAI;

/// <summary>
/// The OpenAI Images API: <c>POST /v1/images/generations</c>, <c>POST /v1/images/edits</c> (image-to-image) and
/// <c>GET /v1/models</c>. Images come back as <c>b64_json</c> PNGs carrying their infotext; extra body fields
/// (<c>negative_prompt</c>, <c>steps</c>, <c>seed</c>, <c>cfg_scale</c>, <c>distilled_cfg_scale</c>, <c>strength</c>, <c>ras</c>) are engine knobs.
/// </summary>
internal static class OpenAIApi
{
    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        app.MapPost("/v1/images/generations", context => Guarded(context, async () =>
        {
            JsonObject body = await HttpJson.ReadObjectAsync(context, state.Limits.MaxBodyBytes).ConfigureAwait(false);
            await GenerateAsync(context, state, new JsonFields(body), null).ConfigureAwait(false);
        }));
        app.MapPost("/v1/images/edits", context => Guarded(context, () => EditAsync(context, state)));
        app.MapGet("/v1/models", context => Guarded(context, () => HttpJson.WriteAsync(context, new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. state.Catalog.Entries.Select(e => (JsonNode?)new JsonObject
            {
                ["id"] = e.Name, ["object"] = "model", ["created"] = 0, ["owned_by"] = "ras",
            })]),
        })));
    }

    /// <summary>A library option name as the OpenAI request field that sets it.</summary>
    public static string FieldOf(string option) => option switch
    {
        "guidance" or "true-cfg" => "cfg_scale",
        "batch" => "n",
        "width" or "height" => "size",
        "image" or "strength" or "steps" or "prompt" => option,
        _ when RasArguments.Names.Contains(option.Replace('-', '_')) => "ras." + option.Replace('-', '_'),
        _ => option.Replace('-', '_'),
    };

    private static Task Guarded(HttpContext context, Func<Task> handler) => HttpJson.GuardedAsync(context, Surface.OpenAI, FieldOf, handler);

    private static async Task EditAsync(HttpContext context, ServerState state)
    {
        if (!context.Request.HasFormContentType)
        {
            JsonObject body = await HttpJson.ReadObjectAsync(context, state.Limits.MaxBodyBytes).ConfigureAwait(false);
            var json = new JsonFields(body);
            string encoded = json.String("image") ?? (json.Array("images")?.FirstOrDefault() as JsonObject)?["image_url"]?.GetValue<string>()
                ?? throw ApiException.BadRequest("image", "is required: a base64 image or data: URI (or send multipart/form-data with an image file)");
            if (json.Has("mask"))
            {
                throw ApiException.BadRequest("mask", "inpainting is not supported yet; send the image without a mask");
            }

            await GenerateAsync(context, state, json, LimitChecks.Image(state.Limits, "image", encoded)).ConfigureAwait(false);
            return;
        }

        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
        {
            throw ApiException.BadRequest("body", $"is not a readable multipart form ({e.Message})");
        }

        if (form.Files.GetFile("mask") is not null || form.ContainsKey("mask"))
        {
            throw ApiException.BadRequest("mask", "inpainting is not supported yet; send the image without a mask");
        }

        IFormFile file = form.Files.GetFile("image") ?? form.Files.GetFile("image[]") ?? form.Files.FirstOrDefault(f => f.Name.StartsWith("image", StringComparison.Ordinal))
            ?? throw ApiException.BadRequest("image", "is required: an image file part named image");
        using var buffer = new MemoryStream();
        await file.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var image = LimitChecks.Image(state.Limits, "image", buffer.ToArray());

        // Form fields are strings; numbers and booleans are read from their text as the JSON route reads them.
        var fields = new JsonObject();
        foreach ((string key, Microsoft.Extensions.Primitives.StringValues value) in form)
        {
            string text = value.ToString();
            fields[key] = key is "prompt" or "negative_prompt" or "size" or "model" or "response_format" or "output_format" or "quality" or "user"
                ? text
                : TryJson(text);
        }

        await GenerateAsync(context, state, new JsonFields(fields), image).ConfigureAwait(false);
    }

    private static JsonNode? TryJson(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    private static async Task GenerateAsync(HttpContext context, ServerState state, JsonFields f, IO.Images.RgbImage? image)
    {
        ServerLimits limits = state.Limits;
        string prompt = f.String("prompt") ?? throw ApiException.BadRequest("prompt", "is required");
        if (f.String("response_format") is string format && format != "b64_json")
        {
            throw ApiException.BadRequest("response_format", $"'{format}' is not supported: this server returns images inline only (b64_json)");
        }

        if (f.String("output_format") is string output && output != "png")
        {
            throw ApiException.BadRequest("output_format", $"'{output}' is not supported: images are PNGs with their parameters");
        }

        ModelEntry model = state.CurrentModel;
        if (f.String("model") is { Length: > 0 } name)
        {
            model = state.Catalog.Find(name) ?? throw new ApiException(404, "model", $"the model '{name}' does not exist; GET /v1/models lists them");
        }

        var defaults = state.DefaultsOf(model);
        (int? width, int? height) = Size(f.String("size"), limits, defaults);
        (bool enabled, RasPatch patch) = f.Json["ras"] switch
        {
            null => A1111Request.StoredRas(state) is var (on, p) ? (on ?? false, p) : default,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => (v.GetValue<bool>(), new RasPatch()),
            JsonObject o => RasArguments.FromObject(o, string.Empty, "ras.") is var (on, p) ? (on ?? true, p) : default,
            var other => throw ApiException.BadRequest("ras", $"must be true, false or an object of RAS options, found {JsonFields.Show(other)}"),
        };
        long? seed = f.Long("seed");
        var spec = new GenerationSpec
        {
            Model = model,
            Prompt = LimitChecks.Prompt(limits, "prompt", prompt),
            NegativePrompt = LimitChecks.Prompt(limits, "negative_prompt", f.String("negative_prompt") ?? string.Empty),
            Width = width,
            Height = height,
            Steps = f.Int("steps") is int steps ? LimitChecks.Range("steps", steps, 1, limits.MaxSteps) : null,
            CfgScale = f.Double("cfg_scale") is double cfg ? LimitChecks.Guidance("cfg_scale", cfg) : null,
            DistilledCfgScale = f.Double("distilled_cfg_scale") is double distilled ? LimitChecks.Guidance("distilled_cfg_scale", distilled) : null,
            Seed = seed is long s and >= 0 ? s : Random.Shared.NextInt64(0, uint.MaxValue),
            BatchSize = f.Int("n") is int n ? LimitChecks.Range("n", n, 1, limits.MaxBatchSize) : 1,
            Ras = enabled ? new RasRequest(true, patch) : RasRequest.Off,
            InitImage = image,
            Strength = f.Double("strength") is double strength ? LimitChecks.Strength("strength", strength) : 0.75,
        };
        GenerationResult result = await JobRunner.RunAsync(context, state, spec, null).ConfigureAwait(false);
        var response = new JsonObject
        {
            ["created"] = result.Started.ToUnixTimeSeconds(),
            ["data"] = new JsonArray([.. result.Images.Select(i => (JsonNode?)new JsonObject
            {
                ["b64_json"] = Convert.ToBase64String(i.Png),
                ["revised_prompt"] = null,
                ["seed"] = i.Seed,
                ["infotext"] = i.Infotext,
            })]),
            ["output_format"] = "png",
            ["size"] = string.Create(CultureInfo.InvariantCulture, $"{result.Width}x{result.Height}"),
            ["usage"] = new JsonObject { ["input_tokens"] = 0, ["output_tokens"] = 0, ["total_tokens"] = 0 },
        };
        await HttpJson.WriteAsync(context, response).ConfigureAwait(false);
    }

    /// <summary><c>WIDTHxHEIGHT</c>, or <c>auto</c> / absent for the model's size (image edits: the input's).</summary>
    private static (int? Width, int? Height) Size(string? size, ServerLimits limits, Pipelines.PipelineDefaults? defaults)
    {
        if (size is null || size == "auto")
        {
            return (null, null);
        }

        string[] parts = size.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int width)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int height))
        {
            throw ApiException.BadRequest("size", $"must be WIDTHxHEIGHT (e.g. 1024x1024) or auto, found '{size}'");
        }

        return (LimitChecks.Size(limits, "size", width, defaults), LimitChecks.Size(limits, "size", height, defaults));
    }
}

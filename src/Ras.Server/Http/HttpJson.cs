using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Ras.Errors;

namespace Ras.Server.Http;

/// <summary>The two API surfaces' error shapes.</summary>
internal enum Surface
{
    /// <summary>A1111/Forge (<c>/sdapi</c>, <c>/internal</c>, <c>/ras</c>): <c>{error, detail, body, errors}</c>, all strings.</summary>
    A1111,

    /// <summary>OpenAI (<c>/v1</c>): <c>{error: {message, type, param, code}}</c>.</summary>
    OpenAI,
}

/// <summary>JSON bodies in and out, and errors in each surface's shape.</summary>
internal static class HttpJson
{
    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The request body as a JSON object; an empty body is <c>{}</c> (every field is optional). A body over
    /// <paramref name="maxBytes"/> is read to its end and discarded, so the client (still sending) gets its 400 rather than a
    /// reset connection; Kestrel itself cuts off bodies over twice the limit.
    /// </summary>
    public static async Task<JsonObject> ReadObjectAsync(HttpContext context, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        JsonNode? node;
        try
        {
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[81920];
            long total = 0;
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total <= maxBytes)
                {
                    buffer.Write(chunk, 0, read);
                }
            }

            if (total > maxBytes)
            {
                throw ApiException.BadRequest("body", $"must be at most {maxBytes} bytes, found {total}");
            }

            if (buffer.Length == 0)
            {
                return [];
            }

            buffer.Position = 0;
            node = await JsonNode.ParseAsync(buffer, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw ApiException.BadRequest("body", $"must be at most {maxBytes} bytes");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest("body", $"is not valid JSON ({e.Message})");
        }

        return node as JsonObject ?? throw ApiException.BadRequest("body", $"must be a JSON object, found {JsonFields.Show(node)}");
    }

    public static Task WriteAsync(HttpContext context, JsonNode? value, int status = 200)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        string text = value?.ToJsonString(Compact) ?? "null";
        return context.Response.WriteAsync(text, Encoding.UTF8, context.RequestAborted);
    }

    /// <summary>Writes <paramref name="error"/> in <paramref name="surface"/>'s shape, with its status (and Retry-After for 429).</summary>
    public static Task WriteErrorAsync(HttpContext context, Surface surface, ApiException error)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(error);
        if (error.RetryAfter is TimeSpan retry)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return WriteAsync(context, Body(surface, error), error.Status);
    }

    public static JsonObject Body(Surface surface, ApiException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (surface == Surface.OpenAI)
        {
            string type = error.Status switch
            {
                401 => "authentication_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                >= 500 => "server_error",
                _ => "invalid_request_error",
            };
            string code = error.Status switch
            {
                401 => "invalid_api_key",
                404 => "not_found",
                429 => "rate_limit_exceeded",
                >= 500 => "server_error",
                _ => "invalid_value",
            };
            return new JsonObject
            {
                ["error"] = new JsonObject { ["message"] = error.Message, ["type"] = type, ["param"] = error.Field, ["code"] = code },
            };
        }

        return new JsonObject
        {
            ["error"] = error.Status switch { 401 or 404 or 422 or 429 or 503 => "HTTPException", 400 => "BadRequest", _ => "RuntimeError" },
            ["detail"] = error.Message,
            ["body"] = string.Empty,
            ["errors"] = error.Message,
        };
    }

    /// <summary>
    /// Runs a route's handler and answers any failure in the surface's error shape (field names through
    /// <paramref name="fieldOf"/>); a client that went away gets no answer.
    /// </summary>
    public static async Task GuardedAsync(HttpContext context, Surface surface, Func<string, string> fieldOf, Func<Task> handler)
    {
        try
        {
            await handler().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client is gone; nobody reads an answer.
        }
#pragma warning disable CA1031 // Every failure becomes an answer in the surface's error shape.
        catch (Exception e) when (!context.Response.HasStarted)
#pragma warning restore CA1031
        {
            await WriteErrorAsync(context, surface, ToApi(e, fieldOf)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An exception from parsing or generation as an <see cref="ApiException"/>: the library's option errors become 400s naming
    /// the request field (through <paramref name="fieldOf"/>), other input errors 400s, anything else a 500.
    /// </summary>
    public static ApiException ToApi(Exception e, Func<string, string> fieldOf)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(fieldOf);
        return e switch
        {
            ApiException api => api,
            OptionsException options => ApiException.BadRequest(fieldOf(options.Option), options.Message[(options.Option.Length + 2)..]),
            RasInputException input when input.Message.IndexOf(": ", StringComparison.Ordinal) is int colon and > 0 && !input.Message[..colon].Contains(' ', StringComparison.Ordinal)
                => ApiException.BadRequest(input.Message[..colon], input.Message[(colon + 2)..]),
            RasInputException input => new ApiException(400, null, input.Message),
            _ => new ApiException(500, null, $"{e.GetType().Name}: {e.Message}"),
        };
    }
}

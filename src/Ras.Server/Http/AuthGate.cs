using Microsoft.AspNetCore.Http;

namespace Ras.Server.Http;

/// <summary>
/// Access control: under <c>--api-auth</c> every API route needs HTTP Basic credentials; only <c>/internal/ping</c>, the page
/// and its static files stay open. <c>--api-key</c> adds <c>Authorization: Bearer KEY</c> on <c>/v1/*</c>, as OpenAI clients send
/// it (there, either kind of credentials is enough). Failures get 401 with <c>WWW-Authenticate</c>.
/// </summary>
internal static class AuthGate
{
    public static bool IsOpen(PathString path) => path == "/internal/ping" || PageFiles.Serves(path);

    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, Credentials credentials)
    {
        PathString path = context.Request.Path;
        if (HttpMethods.IsOptions(context.Request.Method) || IsOpen(path))
        {
            if (credentials.BasicRequired)
            {
                context.Response.Headers["X-Ras-Auth"] = "basic";   // the page asks for credentials before its first API call
            }

            await next(context).ConfigureAwait(false);
            return;
        }

        string? authorization = context.Request.Headers.Authorization;
        bool openAi = path.StartsWithSegments("/v1", StringComparison.Ordinal);
        bool basic = credentials.BasicRequired;
        bool key = openAi && credentials.KeyRequired;
        bool allowed = (!basic && !key) || (basic && credentials.AcceptsBasic(authorization)) || (key && credentials.AcceptsBearer(authorization));
        if (allowed)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var challenges = new List<string>();
        if (basic)
        {
            challenges.Add("Basic realm=\"ras\"");
        }

        if (key)
        {
            challenges.Add("Bearer realm=\"ras\"");
        }

        context.Response.Headers.WWWAuthenticate = challenges.ToArray();
        string problem = authorization is null ? "credentials are required" : "incorrect credentials";
        await HttpJson.WriteErrorAsync(context, openAi ? Surface.OpenAI : Surface.A1111, new ApiException(401, null, problem)).ConfigureAwait(false);
    }
}

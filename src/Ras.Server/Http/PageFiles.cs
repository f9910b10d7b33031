using Microsoft.AspNetCore.Http;

namespace Ras.Server.Http;

/// <summary>The web page's files, embedded in the assembly (<c>Page/</c>) and served at <c>/</c> with no build step.</summary>
internal static class PageFiles
{
    private static readonly Dictionary<string, (string Resource, string ContentType)> Files = new(StringComparer.Ordinal)
    {
        ["/"] = ("page/index.html", "text/html; charset=utf-8"),
        ["/index.html"] = ("page/index.html", "text/html; charset=utf-8"),
        ["/app.js"] = ("page/app.js", "text/javascript; charset=utf-8"),
        ["/style.css"] = ("page/style.css", "text/css; charset=utf-8"),
        ["/favicon.svg"] = ("page/favicon.svg", "image/svg+xml"),
        ["/favicon.ico"] = ("page/favicon.svg", "image/svg+xml"),
    };

    private static readonly Dictionary<string, byte[]> Contents = Files.Values.Select(f => f.Resource).Distinct().ToDictionary(r => r, Read, StringComparer.Ordinal);

    public static bool Serves(PathString path) => path.Value is string p && Files.ContainsKey(p);

    public static async Task ServeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        (string resource, string type) = Files[context.Request.Path.Value!];
        byte[] bytes = Contents[resource];
        context.Response.ContentType = type;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    public static IEnumerable<string> Paths => Files.Keys;

    private static byte[] Read(string resource)
    {
        using Stream stream = typeof(PageFiles).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"this build has no embedded {resource}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

namespace Ras.Server.Http;

/// <summary>
/// A request the server answers with an error status. <see cref="Field"/> names the request field at fault (the A1111
/// surface's <c>detail</c> and the OpenAI surface's <c>param</c>), so every message reads "<c>field: problem</c>".
/// </summary>
internal sealed class ApiException : Exception
{
    public ApiException(int status, string? field, string problem, TimeSpan? retryAfter = null)
        : base(field is null ? problem : $"{field}: {problem}")
    {
        Status = status;
        Field = field;
        Problem = problem;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status.</summary>
    public int Status { get; }

    /// <summary>The request field at fault, or null.</summary>
    public string? Field { get; }

    /// <summary>The problem alone, without the field.</summary>
    public string Problem { get; }

    /// <summary>For 429: when to try again.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>A 400 naming <paramref name="field"/>.</summary>
    public static ApiException BadRequest(string field, string problem) => new(400, field, problem);
}

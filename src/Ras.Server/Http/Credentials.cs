using System.Security.Cryptography;
using System.Text;
using Ras.Errors;

namespace Ras.Server.Http;

/// <summary>HTTP Basic users (<c>--api-auth user:pass[,user:pass]</c>) and the Bearer key (<c>--api-key</c>), compared in constant time.</summary>
internal sealed class Credentials
{
    private readonly List<(byte[] User, byte[] Password)> users;
    private readonly byte[]? key;

    private Credentials(List<(byte[] User, byte[] Password)> users, byte[]? key)
    {
        this.users = users;
        this.key = key;
    }

    /// <summary>True when <c>--api-auth</c> is set.</summary>
    public bool BasicRequired => users.Count > 0;

    /// <summary>True when <c>--api-key</c> is set.</summary>
    public bool KeyRequired => key is not null;

    public static Credentials Create(string? apiAuth, string? apiKey) =>
        new(apiAuth is null ? [] : Parse(apiAuth).Select(u => (Digest(u.User), Digest(u.Password))).ToList(), apiKey is null ? null : Digest(apiKey));

    /// <summary>Parses <c>user:pass[,user:pass]</c>.</summary>
    /// <exception cref="OptionsException">An entry without a colon or with an empty user.</exception>
    public static List<(string User, string Password)> Parse(string apiAuth)
    {
        ArgumentNullException.ThrowIfNull(apiAuth);
        var result = new List<(string, string)>();
        foreach (string entry in apiAuth.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new OptionsException("api-auth", "expected user:pass[,user:pass]");
            }

            result.Add((entry[..colon], entry[(colon + 1)..]));
        }

        if (result.Count == 0)
        {
            throw new OptionsException("api-auth", "expected user:pass[,user:pass]");
        }

        return result;
    }

    /// <summary>True when <paramref name="authorization"/> is <c>Basic base64(user:pass)</c> of a configured user.</summary>
    public bool AcceptsBasic(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }

        int colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        byte[] user = Digest(decoded[..colon]);
        byte[] password = Digest(decoded[(colon + 1)..]);
        bool accepted = false;
        foreach (var (u, p) in users)
        {
            // Every entry is compared, with no early exit, so the time taken does not tell which part matched.
            accepted |= CryptographicOperations.FixedTimeEquals(u, user) & CryptographicOperations.FixedTimeEquals(p, password);
        }

        return accepted;
    }

    /// <summary>True when <paramref name="authorization"/> is <c>Bearer KEY</c> with the configured key.</summary>
    public bool AcceptsBearer(string? authorization) =>
        key is not null && authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && CryptographicOperations.FixedTimeEquals(key, Digest(authorization[7..].Trim()));

    /// <summary>Fixed-length digests, so comparisons take the same time whatever the lengths.</summary>
    private static byte[] Digest(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));
}

using System.Text.Json;
using Ras.Errors;

namespace Ras.IO.Configs;

/// <summary>
/// Typed, field-by-field access to a diffusers-style JSON config. Absent fields take the caller's
/// default; present fields of the wrong type are errors naming the file and field. Fields nobody asks
/// for (including <c>_</c>-prefixed bookkeeping) are ignored.
/// </summary>
public sealed class JsonConfig
{
    private readonly JsonElement root;

    private JsonConfig(string path, JsonElement root)
    {
        FilePath = path;
        this.root = root;
    }

    /// <summary>The file the values came from.</summary>
    public string FilePath { get; }

    /// <summary>The diffusers <c>_class_name</c>, which identifies the model family, or null.</summary>
    public string? ClassName => root.TryGetProperty("_class_name", out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    /// <summary>Reads and parses <paramref name="path"/>; it must hold one JSON object.</summary>
    public static JsonConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException(path, null, "file not found");
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(TextFiles.ReadUtf8(path, TextFiles.MaxJsonBytes, problem => new ConfigException(path, null, problem)));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException(path, null, $"must hold a JSON object, found {document.RootElement.ValueKind}");
            }

            return new JsonConfig(path, document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new ConfigException(path, null, $"not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Parses JSON text (for configs that are not files, e.g. embedded defaults).</summary>
    public static JsonConfig Parse(string json, string displayName)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            return new JsonConfig(displayName, document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new ConfigException(displayName, null, $"not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>Throws unless <c>_class_name</c> is absent or one of <paramref name="accepted"/>.</summary>
    public void RequireClass(params string[] accepted)
    {
        string? name = ClassName;
        if (name is not null && !accepted.Contains(name, StringComparer.Ordinal))
        {
            throw new ConfigException(FilePath, "_class_name", $"is '{name}'; expected {string.Join(" or ", accepted.Select(a => $"'{a}'"))}");
        }
    }

    /// <summary>True when <paramref name="field"/> is present and not null.</summary>
    public bool Has(string field) => root.TryGetProperty(field, out JsonElement e) && e.ValueKind != JsonValueKind.Null;

    /// <summary>An integer field.</summary>
    public int ReadInt(string field, int fallback) => ReadNullableInt(field) ?? fallback;

    /// <summary>An integer field that may be null or absent.</summary>
    public int? ReadNullableInt(string field)
    {
        if (!TryGet(field, out JsonElement e))
        {
            return null;
        }

        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int value) ? value : throw WrongType(field, "an integer", e);
    }

    /// <summary>A number field.</summary>
    public double ReadDouble(string field, double fallback) => ReadNullableDouble(field) ?? fallback;

    /// <summary>A number field that may be null or absent.</summary>
    public double? ReadNullableDouble(string field)
    {
        if (!TryGet(field, out JsonElement e))
        {
            return null;
        }

        return e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw WrongType(field, "a number", e);
    }

    /// <summary>A boolean field.</summary>
    public bool ReadBool(string field, bool fallback)
    {
        if (!TryGet(field, out JsonElement e))
        {
            return fallback;
        }

        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(field, "true or false", e),
        };
    }

    /// <summary>A string field that may be null or absent.</summary>
    public string? ReadString(string field)
    {
        if (!TryGet(field, out JsonElement e))
        {
            return null;
        }

        return e.ValueKind == JsonValueKind.String ? e.GetString() : throw WrongType(field, "a string", e);
    }

    /// <summary>A list of integers (JSON array); null or absent gives <paramref name="fallback"/>.</summary>
    public int[] ReadIntList(string field, int[] fallback)
    {
        if (!TryGet(field, out JsonElement e))
        {
            return fallback;
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(field, "a list of integers", e);
        }

        return e.EnumerateArray()
            .Select(item => item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out int v) ? v : throw WrongType(field, "a list of integers", e))
            .ToArray();
    }

    /// <summary>A list of strings (JSON array); null or absent gives null.</summary>
    public string[]? ReadStringList(string field)
    {
        if (!TryGet(field, out JsonElement e))
        {
            return null;
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            throw WrongType(field, "a list of strings", e);
        }

        return e.EnumerateArray()
            .Select(item => item.ValueKind == JsonValueKind.String ? item.GetString()! : throw WrongType(field, "a list of strings", e))
            .ToArray();
    }

    /// <summary>An error about <paramref name="field"/>'s value, for checks done by the caller.</summary>
    public ConfigException Invalid(string field, string problem) => new(FilePath, field, problem);

    private bool TryGet(string field, out JsonElement value) =>
        root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

    private ConfigException WrongType(string field, string expected, JsonElement actual) =>
        new(FilePath, field, $"must be {expected}, found {actual.ValueKind.ToString().ToLowerInvariant()} {Shorten(actual.GetRawText())}");

    private static string Shorten(string raw) => raw.Length <= 40 ? raw : raw[..37] + "...";
}

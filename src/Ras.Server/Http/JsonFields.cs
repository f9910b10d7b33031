using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ras.Server.Http;

/// <summary>
/// Typed, lenient reads of a JSON request object: absent and <c>null</c> fields are null, unknown fields are ignored, and a
/// value of the wrong type is a 400 naming the field. Integers may come as integral floats (<c>20.0</c>), as Python clients send them.
/// </summary>
internal sealed class JsonFields(JsonObject json, string prefix = "")
{
    public JsonObject Json { get; } = json;

    public bool Has(string name) => Json[name] is not null;

    public string? String(string name) => Json[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw Wrong(name, "a string", other),
    };

    public bool? Bool(string name) => Json[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String && bool.TryParse(v.GetValue<string>(), out bool parsed) => parsed,
        var other => throw Wrong(name, "true or false", other),
    };

    public double? Double(string name) => Json[name] is { } node ? AsDouble(node, Path(name)) : null;

    public long? Long(string name) => Json[name] is { } node ? AsLong(node, Path(name)) : null;

    public int? Int(string name)
    {
        long? value = Long(name);
        return value switch
        {
            null => null,
            > int.MaxValue or < int.MinValue => throw ApiException.BadRequest(Path(name), $"must be a 32-bit integer, found {value}"),
            _ => (int)value,
        };
    }

    public JsonObject? Object(string name) => Json[name] switch
    {
        null => null,
        JsonObject o => o,
        var other => throw Wrong(name, "an object", other),
    };

    public JsonArray? Array(string name) => Json[name] switch
    {
        null => null,
        JsonArray a => a,
        var other => throw Wrong(name, "an array", other),
    };

    public string Path(string name) => prefix + name;

    public static double AsDouble(JsonNode node, string field)
    {
        if (node is JsonValue v)
        {
            if (v.GetValueKind() == JsonValueKind.Number)
            {
                double d = v.GetValue<double>();
                if (double.IsFinite(d))
                {
                    return d;
                }
            }
            else if (v.GetValueKind() == JsonValueKind.String
                && double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) && double.IsFinite(parsed))
            {
                return parsed;
            }
        }

        throw ApiException.BadRequest(field, $"must be a number, found {Show(node)}");
    }

    public static long AsLong(JsonNode node, string field)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            if (v.TryGetValue(out long l))
            {
                return l;
            }

            double d = v.GetValue<double>();
            if (double.IsFinite(d) && d == Math.Floor(d) && Math.Abs(d) < 9.007199254740992e15)
            {
                return (long)d;
            }
        }
        else if (node is JsonValue s && s.GetValueKind() == JsonValueKind.String
            && long.TryParse(s.GetValue<string>(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed))
        {
            return parsed;
        }

        throw ApiException.BadRequest(field, $"must be an integer, found {Show(node)}");
    }

    public static string Show(JsonNode? node)
    {
        string text = node?.ToJsonString() ?? "null";
        return text.Length > 60 ? text[..57] + "..." : text;
    }

    private ApiException Wrong(string name, string expected, JsonNode? found) =>
        ApiException.BadRequest(Path(name), $"must be {expected}, found {Show(found)}");
}

using Ras.IO.Configs;
using System.Text.Json;
using Ras.Errors;
using TorchSharp;

namespace Ras.IO.Safetensors;

/// <summary>
/// Parses and validates a safetensors JSON header: every entry's dtype, shape and offsets, offsets
/// inside the data section, byte length = element count × dtype size, and no two tensors overlapping.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>The reference implementation's limit; a larger length means a corrupt or hostile file.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Most dimensions a tensor may have (libtorch's limit is 64; real checkpoints use at most 5).</summary>
    public const int MaxDims = 16;

    public static (IReadOnlyDictionary<string, SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata) Parse(
        string filePath, ReadOnlySpan<byte> json, long dataLength)
    {
        if (TextFiles.Problem(json) is string problem)
        {
            throw new SafetensorsException(filePath, null, $"header {problem}");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new SafetensorsException(filePath, null, $"header is not valid JSON ({e.Message})", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new SafetensorsException(filePath, null, $"header must be a JSON object, found {document.RootElement.ValueKind}");
            }

            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(filePath, property.Value, metadata);
                    continue;
                }

                if (entries.ContainsKey(property.Name))
                {
                    throw new SafetensorsException(filePath, property.Name, "appears twice in the header");
                }

                entries.Add(property.Name, ReadEntry(filePath, property.Name, property.Value, dataLength));
            }

            CheckNoOverlap(filePath, entries.Values);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(string filePath, JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new SafetensorsException(filePath, null, "'__metadata__' must be an object of strings");
        }

        foreach (JsonProperty item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new SafetensorsException(filePath, null, $"'__metadata__' value '{item.Name}' must be a string");
            }

            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ReadEntry(string filePath, string name, JsonElement element, long dataLength)
    {
        SafetensorsException Bad(string problem) => new(filePath, name, problem);

        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Bad("header entry must be an object with dtype, shape and data_offsets");
        }

        if (!element.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Bad("missing or non-string 'dtype'");
        }

        string dtypeName = dtypeElement.GetString()!;
        if (!SafetensorsDType.TryParse(dtypeName, out torch.ScalarType dtype, out int elementSize, out _))
        {
            throw Bad($"unsupported dtype '{dtypeName}' (supported: {SafetensorsDType.Supported})");
        }

        long[] shape = ReadIntegers(element, "shape", Bad);
        if (shape.Length > MaxDims)
        {
            throw Bad($"shape has {shape.Length} dimensions, more than the limit of {MaxDims}");
        }

        long[] offsets = ReadIntegers(element, "data_offsets", Bad);
        if (offsets.Length != 2)
        {
            throw Bad($"'data_offsets' must hold two numbers, found {offsets.Length}");
        }

        (long begin, long end) = (offsets[0], offsets[1]);
        if (begin > end)
        {
            throw Bad($"data_offsets [{begin}, {end}] are reversed");
        }

        if (end > dataLength)
        {
            throw Bad($"data_offsets [{begin}, {end}] lie outside the data section of {dataLength} bytes (file truncated?)");
        }

        long expectedBytes;
        try
        {
            expectedBytes = checked(shape.Aggregate(1L, (a, b) => a * b) * elementSize);
        }
        catch (OverflowException)
        {
            throw Bad($"shape [{string.Join(", ", shape)}] is too large");
        }

        if (expectedBytes != end - begin)
        {
            throw Bad($"shape [{string.Join(", ", shape)}] × {dtypeName} needs {expectedBytes} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        }

        return new SafetensorsEntry(name, dtype, shape, begin, end, dtypeName);
    }

    private static long[] ReadIntegers(JsonElement element, string field, Func<string, SafetensorsException> bad)
    {
        if (!element.TryGetProperty(field, out JsonElement array) || array.ValueKind != JsonValueKind.Array)
        {
            throw bad($"missing or non-array '{field}'");
        }

        var values = new long[array.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long value) || value < 0)
            {
                throw bad($"'{field}' must hold non-negative integers, found {item.GetRawText()}");
            }

            values[i++] = value;
        }

        return values;
    }

    private static void CheckNoOverlap(string filePath, IEnumerable<SafetensorsEntry> entries)
    {
        SafetensorsEntry? previous = null;
        foreach (SafetensorsEntry entry in entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin))
        {
            if (previous is not null && entry.Begin < previous.End)
            {
                throw new SafetensorsException(filePath, entry.Name,
                    $"bytes [{entry.Begin}, {entry.End}) overlap tensor '{previous.Name}' [{previous.Begin}, {previous.End})");
            }

            previous = entry;
        }
    }
}

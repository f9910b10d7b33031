using TorchSharp;

namespace Ras.IO.Safetensors;

/// <summary>The safetensors dtype names we read and write, and their TorchSharp equivalents.</summary>
internal static class SafetensorsDType
{
    private static readonly (string Name, torch.ScalarType Type, int Size)[] Table =
    [
        ("F64", torch.ScalarType.Float64, 8),
        ("F32", torch.ScalarType.Float32, 4),
        ("F16", torch.ScalarType.Float16, 2),
        ("BF16", torch.ScalarType.BFloat16, 2),
        ("I64", torch.ScalarType.Int64, 8),
        ("I32", torch.ScalarType.Int32, 4),
    ];

    /// <summary>Comma-separated list of supported names, for error messages.</summary>
    public static string Supported => string.Join(", ", Table.Select(t => t.Name));

    public static bool TryParse(string name, out torch.ScalarType type, out int size)
    {
        foreach (var entry in Table)
        {
            if (entry.Name == name)
            {
                (type, size) = (entry.Type, entry.Size);
                return true;
            }
        }

        (type, size) = (default, 0);
        return false;
    }

    public static string NameOf(torch.ScalarType type)
    {
        foreach (var entry in Table)
        {
            if (entry.Type == type)
            {
                return entry.Name;
            }
        }

        throw new ArgumentException($"dtype {type} cannot be stored in safetensors here (supported: {Supported})", nameof(type));
    }
}

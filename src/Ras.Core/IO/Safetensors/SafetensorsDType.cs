using TorchSharp;

namespace Ras.IO.Safetensors;

/// <summary>How a dtype's bytes become tensor values.</summary>
internal enum StoredEncoding
{
    /// <summary>The bytes are the values of the torch dtype (copied as they are).</summary>
    Plain,

    /// <summary>float8_e4m3fn, decoded (TorchSharp has no fp8 dtype).</summary>
    F8E4M3,

    /// <summary>float8_e5m2, decoded.</summary>
    F8E5M2,
}

/// <summary>The safetensors dtype names we read and write, and their TorchSharp equivalents.</summary>
internal static class SafetensorsDType
{
    // fp8 reads as bfloat16: every float8_e4m3fn and float8_e5m2 value (subnormals, ±inf, NaN) is a bfloat16 value, so the
    // narrowest torch dtype that holds them exactly is bf16, and half-precision weight storage applies to fp8 files too.
    private static readonly (string Name, torch.ScalarType Type, int Size, StoredEncoding Encoding)[] Table =
    [
        ("F64", torch.ScalarType.Float64, 8, StoredEncoding.Plain),
        ("F32", torch.ScalarType.Float32, 4, StoredEncoding.Plain),
        ("F16", torch.ScalarType.Float16, 2, StoredEncoding.Plain),
        ("BF16", torch.ScalarType.BFloat16, 2, StoredEncoding.Plain),
        ("I64", torch.ScalarType.Int64, 8, StoredEncoding.Plain),
        ("I32", torch.ScalarType.Int32, 4, StoredEncoding.Plain),
        ("F8_E4M3", torch.ScalarType.BFloat16, 1, StoredEncoding.F8E4M3),
        ("F8_E5M2", torch.ScalarType.BFloat16, 1, StoredEncoding.F8E5M2),
    ];

    /// <summary>Comma-separated list of supported names, for error messages.</summary>
    public static string Supported => string.Join(", ", Table.Select(t => t.Name));

    /// <summary>The names that can be written (those with a TorchSharp dtype of their own).</summary>
    public static string Writable => string.Join(", ", Table.Where(t => t.Encoding == StoredEncoding.Plain).Select(t => t.Name));

    public static bool TryParse(string name, out torch.ScalarType type, out int size, out StoredEncoding encoding)
    {
        foreach (var entry in Table)
        {
            if (entry.Name == name)
            {
                (type, size, encoding) = (entry.Type, entry.Size, entry.Encoding);
                return true;
            }
        }

        (type, size, encoding) = (default, 0, default);
        return false;
    }

    public static string NameOf(torch.ScalarType type)
    {
        foreach (var entry in Table)
        {
            if (entry.Type == type && entry.Encoding == StoredEncoding.Plain)
            {
                return entry.Name;
            }
        }

        throw new ArgumentException($"dtype {type} cannot be stored in safetensors here (supported: {Writable})", nameof(type));
    }
}

using System.Globalization;
using System.Text;

namespace Ras.IO.Gguf;

/// <summary>GGUF metadata value types (<c>enum gguf_type</c>).</summary>
#pragma warning disable CA1720 // The members are the format's own type names (UINT8, INT32, STRING, …).
public enum GgufValueType : uint
{
    /// <summary>u8.</summary>
    UInt8 = 0,

    /// <summary>i8.</summary>
    Int8 = 1,

    /// <summary>u16.</summary>
    UInt16 = 2,

    /// <summary>i16.</summary>
    Int16 = 3,

    /// <summary>u32.</summary>
    UInt32 = 4,

    /// <summary>i32.</summary>
    Int32 = 5,

    /// <summary>IEEE binary32.</summary>
    Float32 = 6,

    /// <summary>One byte, 0 or 1.</summary>
    Bool = 7,

    /// <summary>u64 length + UTF-8 bytes.</summary>
    String = 8,

    /// <summary>u32 element type + u64 count + elements.</summary>
    Array = 9,

    /// <summary>u64.</summary>
    UInt64 = 10,

    /// <summary>i64.</summary>
    Int64 = 11,

    /// <summary>IEEE binary64.</summary>
    Float64 = 12,
}
#pragma warning restore CA1720

/// <summary>
/// One metadata value. Scalars are held as their CLR type (<see cref="byte"/>, <see cref="sbyte"/>, …, <see cref="string"/>);
/// an array as a CLR array of its element type (<c>int[]</c>, <c>string[]</c>, …), or as <see cref="GgufValue"/>[] when its
/// elements are arrays themselves.
/// </summary>
/// <param name="Type">The value's type.</param>
/// <param name="Value">The value (see above).</param>
/// <param name="ElementType">For an array: the type of its elements; otherwise null.</param>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType? ElementType = null)
{
    /// <summary>The number of elements of an array, or 1 for a scalar.</summary>
    public long Count => Value is Array array ? array.LongLength : 1;

    /// <summary>A short human-readable rendering: long strings and arrays are cut to <paramref name="maxChars"/> characters.</summary>
    public string Display(int maxChars = 80)
    {
        string text = Type == GgufValueType.Array ? DisplayArray(maxChars) : DisplayScalar(Value);
        return text.Length <= maxChars ? text : text[..Math.Max(0, maxChars - 1)] + "…";
    }

    private string DisplayArray(int maxChars)
    {
        var array = (Array)Value;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{ElementType.ToString()!.ToUpperInvariant()}[{array.LongLength}] [");
        for (int i = 0; i < array.Length && text.Length < maxChars; i++)
        {
            text.Append(i == 0 ? string.Empty : ", ");
            object item = array.GetValue(i)!;
            text.Append(item is GgufValue nested ? nested.Display(maxChars) : DisplayScalar(item));
        }

        return text.Append(']').ToString();
    }

    private static string DisplayScalar(object value) => value switch
    {
        string s => $"\"{s.Replace("\n", "\\n", StringComparison.Ordinal)}\"",
        bool b => b ? "true" : "false",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}

using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>fp8 copies of safetensors files, as people download them (<c>*_fp8_e4m3fn.safetensors</c>, ComfyUI's scaled fp8).</summary>
public static class Fp8Files
{
    /// <summary>
    /// <paramref name="source"/> with every matrix in fp8 E4M3 (a coarse rounding: any non-NaN codes will do where both sides
    /// decode the same bytes) and, with <paramref name="scale"/>, a ComfyUI-style <c>.scale_weight</c> beside each weight.
    /// </summary>
    public static string Copy(string source, string path, float? scale = null)
    {
        var entries = new List<RawSafetensors.Entry>();
        using (var file = SafetensorsFile.Open(source))
        {
            foreach (string key in file.Entries.Keys.Order(StringComparer.Ordinal))
            {
                using Tensor value = file.Read(key, ScalarType.Float32);
                float[] data = value.data<float>().ToArray();
                if (value.shape.Length < 2)
                {
                    entries.Add(new(key, "F32", value.shape, data.SelectMany(BitConverter.GetBytes).ToArray()));
                    continue;
                }

                entries.Add(new(key, "F8_E4M3", value.shape, data.Select(Fp8Code).ToArray()));
                if (scale is float factor && key.EndsWith(".weight", StringComparison.Ordinal))
                {
                    entries.Add(new(key[..^".weight".Length] + ".scale_weight", "F32", [], BitConverter.GetBytes(factor)));
                }
            }
        }

        return RawSafetensors.Write(path, entries);
    }

    private static byte Fp8Code(float value)
    {
        float magnitude = Math.Abs(value);
        if (magnitude < 1e-3f)
        {
            return 0;
        }

        int exponent = Math.Clamp((int)Math.Floor(Math.Log2(magnitude)) + 7, 1, 6);
        int mantissa = Math.Clamp((int)((magnitude / Math.Pow(2, exponent - 7) - 1) * 8), 0, 7);
        return (byte)((value < 0 ? 0x80 : 0) | (exponent << 3) | mantissa);
    }
}

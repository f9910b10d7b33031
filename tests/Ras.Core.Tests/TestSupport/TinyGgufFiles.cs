using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// A model's weights as a GGUF file the way ComfyUI-GGUF writes image models: tensors in sorted key order, a prefix such
/// as <c>model.diffusion_model.</c> removed, 1-D tensors F32, 2-D+ weights quantized where their rows allow it
/// (Q4_K for rows that are whole 256-element super-blocks, Q8_0 for whole 32-element blocks), F16 otherwise.
/// </summary>
public static class TinyGgufFiles
{
    /// <summary>The type a tensor of <paramref name="shape"/> gets: the mix of Q8_0, Q4_K, F16 and F32 described above.</summary>
    public static GgufTensorType MixedType(long[] shape) => shape.Length < 2 ? GgufTensorType.F32
        : shape[^1] % 256 == 0 ? GgufTensorType.Q4_K
        : shape[^1] % 32 == 0 ? GgufTensorType.Q8_0
        : GgufTensorType.F16;

    /// <summary>Writes every tensor of <paramref name="safetensors"/> under <paramref name="prefix"/> (prefix removed) to <paramref name="path"/>.</summary>
    public static string FromSafetensors(string safetensors, string path, string architecture, string prefix = "",
        Func<long[], GgufTensorType>? typeOf = null)
    {
        typeOf ??= MixedType;
        var writer = new GgufWriter().String("general.architecture", architecture).UInt32("general.quantization_version", 2).UInt32("general.file_type", 7);
        using var file = SafetensorsFile.Open(safetensors);
        foreach (string key in file.Entries.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using Tensor value = file.Read(key, ScalarType.Float32);
            long[] shape = value.shape;
            float[] values = value.data<float>().ToArray();
            GgufTensorType type = typeOf(shape);
            writer.Tensor(key[prefix.Length..], type, shape.Length == 0 ? [1] : shape, type switch
            {
                GgufTensorType.F32 => GgufWriter.F32(values),
                GgufTensorType.F16 => values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray(),
                _ => GgufQuantizer.Quantize(type, values, shape[^1]),
            });
        }

        return writer.Write(path);
    }
}

using System.Diagnostics;
using Ras.Errors;
using Ras.IO.Files;
using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>Where a conversion is: tensors written so far, of how many, and the bytes written.</summary>
/// <param name="Done">Tensors written.</param>
/// <param name="Total">Tensors to write.</param>
/// <param name="Tensor">The tensor just written.</param>
/// <param name="BytesWritten">Tensor bytes written so far.</param>
/// <param name="Elapsed">Time since the conversion started.</param>
public sealed record ConversionProgress(int Done, int Total, string Tensor, long BytesWritten, TimeSpan Elapsed);

/// <summary>What a conversion wrote.</summary>
/// <param name="InputFormat">The input's format (<c>GGUF v3</c>, <c>safetensors</c>).</param>
/// <param name="Tensors">Tensors written.</param>
/// <param name="BytesWritten">Tensor bytes written (header excluded).</param>
/// <param name="ScalesApplied">Weights multiplied by their <c>.scale_weight</c> (only with scales applied).</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record ConversionResult(string InputFormat, int Tensors, long BytesWritten, int ScalesApplied, TimeSpan Elapsed);

/// <summary>
/// A pure format conversion: one checkpoint file (safetensors of any dtype, fp8 included, or GGUF) to a safetensors file
/// holding exactly the same tensor names (no prefix stripped, no layout conversion), row-major shapes (GGUF's <c>ne</c>
/// reversed) and the values dequantized / decoded to one float dtype. Integer tensors keep their dtype. ComfyUI's scaled
/// fp8 weights keep their <c>.scale_weight</c> tensors unless scales are applied, in which case each weight is written as
/// <c>weight × scale</c> (float32 product) and the scale tensors, input scales and the <c>scaled_fp8</c> marker are dropped.
/// </summary>
public static class CheckpointConversion
{
    /// <summary>Converts <paramref name="input"/> to <paramref name="output"/>; nothing is written unless all of it succeeds.</summary>
    /// <param name="input">A <c>.safetensors</c> or <c>.gguf</c> file.</param>
    /// <param name="output">The safetensors file to write (temp file + rename).</param>
    /// <param name="dtype">The dtype of every float tensor: float32 (default), float16 or bfloat16.</param>
    /// <param name="applyScales">Bake scaled-fp8 weights' scales in (see the class remarks).</param>
    /// <param name="progress">Told after each tensor.</param>
    /// <param name="cancellation">Checked between tensors; a cancelled conversion leaves nothing behind.</param>
    /// <exception cref="RasInputException">The input is missing, malformed or holds a tensor type that cannot be read; the output cannot be written.</exception>
    public static ConversionResult Convert(string input, string output, ScalarType dtype = ScalarType.Float32, bool applyScales = false,
        IProgress<ConversionProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16))
        {
            throw new OptionsException("dtype", $"{dtype} is not a conversion target (float32, float16 or bfloat16)");
        }

        if (Path.GetFullPath(input) == Path.GetFullPath(output))
        {
            throw new OptionsException("out", $"{output} is the input file; write the conversion to another path");
        }

        AtomicFile.EnsureWritable(output);
        var clock = Stopwatch.StartNew();
        using TensorStore store = TensorStore.OpenFile(input, applyScales);
        string format = store.Gguf is GgufFile gguf ? $"GGUF v{gguf.Version}" : "safetensors";

        // Every tensor must be readable before anything is written.
        var specs = new List<SafetensorsTensorSpec>();
        foreach (string name in store.Keys)
        {
            StoredTensor stored = store.Describe(name);
            if (store.Gguf is GgufFile file && !GgufTensorTypes.IsSupported(file.Get(name).Type))
            {
                GgufTensorType type = file.Get(name).Type;
                throw new GgufException(input, GgufException.Tensor(name), $"has type {type} ({(int)type}), which this reader does not dequantize (supported: {GgufTensorTypes.SupportedNames})");
            }

            ScalarType target = stored.DType is ScalarType.Int64 or ScalarType.Int32 ? stored.DType : dtype;
            specs.Add(new SafetensorsTensorSpec(name, target, stored.Shape));
        }

        IReadOnlyDictionary<string, string> metadata = store.SafetensorsMetadata;
        int done = 0;
        long bytes = 0;
        SafetensorsWriter.Write(output, specs, (name, tensor) =>
        {
            cancellation.ThrowIfCancellationRequested();
            store.CopyInto(name, tensor);
        }, metadata, spec =>
        {
            bytes += spec.ByteLength;
            progress?.Report(new ConversionProgress(++done, specs.Count, spec.Name, bytes, clock.Elapsed));
        });
        return new ConversionResult(format, specs.Count, bytes, store.AppliedScales.Count, clock.Elapsed);
    }
}

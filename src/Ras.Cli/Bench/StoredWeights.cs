using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Gguf;
using Ras.Pipelines;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Cli.Bench;

/// <summary>
/// The weight forms <c>ras bench --synthetic … --weights</c> compares: <c>f32</c> is the synthetic model as built, resident
/// in float32; <c>bf16</c>, <c>fp8</c>, <c>q8_0</c> and <c>q4_k</c> write the same model's keys and shapes, with random finite
/// values, as the file people download (bf16 / F8_E4M3 safetensors, GGUF) into a temporary folder and load it through
/// the loader <c>--model</c> uses with <c>--weight-storage stored</c>: blocks kept in that form and upcast or dequantized
/// per block at each forward. So the timing includes exactly the per-block cost a user of that file pays.
/// </summary>
internal static class StoredWeights
{
    public const string Resident = "f32";

    public static readonly string[] Forms = [Resident, "bf16", "fp8", "q8_0", "q4_k"];

    /// <summary>Parses a comma-separated list of <see cref="Forms"/>, in the order given, without repeats.</summary>
    public static IReadOnlyList<string> Parse(string text)
    {
        var forms = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        if (forms.Count == 0)
        {
            throw new OptionsException("weights", $"give at least one of {string.Join(", ", Forms)}");
        }

        foreach (string form in forms)
        {
            if (!Forms.Contains(form))
            {
                throw new OptionsException("weights", $"'{form}' is not one of {string.Join(", ", Forms)}");
            }
        }

        if (forms.Distinct().Count() != forms.Count)
        {
            throw new OptionsException("weights", $"'{text}' names a form twice");
        }

        return forms;
    }

    /// <summary>
    /// Writes <paramref name="built"/>'s config and a checkpoint in <paramref name="form"/> (random values from
    /// <paramref name="seed"/>) into <paramref name="folder"/>, and loads it with its weights kept in that form.
    /// </summary>
    public static DenoisingTransformer Load(DenoisingTransformer built, string form, string folder, int seed, Device device)
    {
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "config.json"), built.ConfigJson);
            var tensors = built.Module.state_dict().Select(kv => (kv.Key, kv.Value.shape)).ToList();
            var random = new Random(seed);
            string weights = Path.Combine(folder, "diffusion_pytorch_model.safetensors");
            string architecture = built.Family.Name.ToLowerInvariant().Replace("-", string.Empty, StringComparison.Ordinal);
            _ = form switch
            {
                "bf16" => SyntheticCheckpoint.WriteSafetensors(weights, tensors, "BF16", "BF16", random),
                "fp8" => SyntheticCheckpoint.WriteSafetensors(weights, tensors, "F8_E4M3", "F32", random),
                "q8_0" => SyntheticCheckpoint.WriteGguf(Path.ChangeExtension(weights, ".gguf"), tensors, GgufTensorType.Q8_0, architecture, random),
                "q4_k" => SyntheticCheckpoint.WriteGguf(Path.ChangeExtension(weights, ".gguf"), tensors, GgufTensorType.Q4_K, architecture, random),
                _ => throw new ArgumentOutOfRangeException(nameof(form), form, "not a stored form"),
            };
            return ModelFamilies.ForTransformerFolder(folder).LoadTransformer(folder, device, storage: WeightStorage.Stored);
        }
        finally
        {
            DeleteQuietly(folder);
        }
    }

    /// <summary>
    /// The loaded model keeps its file open (mapped), which outlives the name on POSIX systems: the folder goes as soon as the
    /// model is loaded, so an interrupted bench leaves nothing behind. Where open files cannot be deleted (Windows) the
    /// caller deletes the folder after disposing the models.
    /// </summary>
    private static void DeleteQuietly(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

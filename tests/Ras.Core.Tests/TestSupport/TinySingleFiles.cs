using Ras.IO.Safetensors;
using Ras.Models.SD3;
using Ras.Models.Vae;
using Ras.Tests.Models.SD3;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>A tiny SD3 pipeline folder's weights in Stability's single-file layout, merged into one file.</summary>
public static class TinySingleFiles
{
    /// <summary>The CLIP-L part's prefix in Stability's single files.</summary>
    public const string ClipLPrefix = "text_encoders.clip_l.transformer.";

    /// <summary>The CLIP-G part's prefix in Stability's single files.</summary>
    public const string ClipGPrefix = "text_encoders.clip_g.transformer.";

    /// <summary>
    /// Writes <paramref name="source"/>'s transformer and VAE (and, with <paramref name="withTextEncoders"/>, both CLIPs under
    /// <c>text_encoders.clip_{l,g}.transformer.</c>) to <paramref name="path"/>; keys <paramref name="omit"/> picks are left out.
    /// </summary>
    public static string WriteSd3(string source, string path, bool withTextEncoders = true, Func<string, bool>? omit = null)
    {
        using var temp = new TempDirectory();
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        using (var transformer = SD3Transformer2DModel.FromPretrained(Path.Combine(source, "transformer")))
        {
            Merge(tensors, SD3SingleFileConverterTests.WriteSingleFile(transformer, temp.File("t.safetensors")), string.Empty);
        }

        using (var vae = AutoencoderKL.FromPretrained(Path.Combine(source, "vae")))
        {
            ForeignLayout.Write(temp.File("v.safetensors"), vae.state_dict(), s => VaeLdmConverter.Convert(s, vae.Config),
                key => key.StartsWith(VaeLdmConverter.Prefix, StringComparison.Ordinal));
            Merge(tensors, temp.File("v.safetensors"), string.Empty);
        }

        if (withTextEncoders)
        {
            Merge(tensors, Path.Combine(source, "text_encoder", "model.safetensors"), ClipLPrefix);
            Merge(tensors, Path.Combine(source, "text_encoder_2", "model.safetensors"), ClipGPrefix);
        }

        SafetensorsWriter.Write(path, omit is null ? tensors : tensors.Where(kv => !omit(kv.Key)).ToDictionary());
        return path;
    }

    private static void Merge(Dictionary<string, Tensor> into, string file, string prefix)
    {
        using var source = SafetensorsFile.Open(file);
        foreach (string key in source.Entries.Keys)
        {
            into[prefix + key] = source.Read(key);
        }
    }
}

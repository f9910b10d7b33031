using Ras.Errors;

namespace Ras.Pipelines;

/// <summary>
/// Separate component files, as Forge and ComfyUI users keep them (<c>clip_l.safetensors</c>, <c>clip_g.safetensors</c>,
/// <c>t5xxl_fp8_e4m3fn.safetensors</c>, <c>ae.safetensors</c>): each one, when given, is used for its role instead of
/// the pipeline folder's, the single file's or the <c>--config</c> folder's weights. Text encoders are in transformers'
/// key names (with any prefix), VAEs in the original (LDM / BFL) or diffusers layout; safetensors (any dtype, fp8) or GGUF.
/// </summary>
public sealed record ComponentFiles
{
    /// <summary>No component files.</summary>
    public static readonly ComponentFiles None = new();

    /// <summary>CLIP-L (<c>--clip-l</c>): SD3's and FLUX.1's <c>text_encoder</c>.</summary>
    public string? ClipL { get; init; }

    /// <summary>OpenCLIP bigG (<c>--clip-g</c>): SD3's <c>text_encoder_2</c>.</summary>
    public string? ClipG { get; init; }

    /// <summary>T5-XXL (<c>--t5</c>): SD3's <c>text_encoder_3</c>, FLUX.1's <c>text_encoder_2</c>.</summary>
    public string? T5 { get; init; }

    /// <summary>The VAE (<c>--vae</c>).</summary>
    public string? Vae { get; init; }

    /// <summary>Each given file with its flag.</summary>
    public IEnumerable<(string Flag, string Path)> Given =>
        new[] { ("clip-l", ClipL), ("clip-g", ClipG), ("t5", T5), ("vae", Vae) }.Where(f => f.Item2 is not null).Select(f => (f.Item1, f.Item2!));

    /// <summary>
    /// The files for a family: <paramref name="roles"/> maps each flag the family takes to its diffusers component folder.
    /// </summary>
    /// <exception cref="OptionsException">A file the family has no role for, or a file that does not exist.</exception>
    public IReadOnlyDictionary<string, ComponentFile> For(string family, IReadOnlyDictionary<string, string> roles)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var files = new Dictionary<string, ComponentFile>(StringComparer.Ordinal);
        foreach ((string flag, string path) in Given)
        {
            if (!roles.TryGetValue(flag, out string? component))
            {
                throw new OptionsException(flag, roles.Count == 0
                    ? $"{family} pipelines take no component files; give a diffusers folder"
                    : $"{family} has no such component (it takes {string.Join(", ", roles.Keys.Select(k => "--" + k))})");
            }

            if (!File.Exists(path))
            {
                throw new OptionsException(flag, $"{path}: no such file");
            }

            files[component] = new ComponentFile(flag, path);
        }

        return files;
    }
}

/// <summary>One component file: the flag that named it (for messages) and its path.</summary>
public sealed record ComponentFile(string Flag, string Path);

using Ras.Pipelines;

namespace Ras.Server.Models;

/// <summary>A model the server can run.</summary>
/// <param name="Identity">Name and hash, as in infotexts.</param>
/// <param name="Path">Its folder or file.</param>
/// <param name="BuiltIn">True for the built-in ras-shapes model.</param>
internal sealed record ModelEntry(ModelIdentity Identity, string Path, bool BuiltIn)
{
    /// <summary>The name (A1111's <c>model_name</c>).</summary>
    public string Name => Identity.Name;

    /// <summary>A1111's <c>title</c>: <c>"&lt;name&gt; [&lt;hash&gt;]"</c>.</summary>
    public string Title => $"{Identity.Name} [{Identity.Hash}]";

    /// <summary>True when <paramref name="alias"/> names this model: its title, name, hash, path or file name (with or without extension).</summary>
    public bool Matches(string alias)
    {
        string trimmed = alias.Trim();
        return trimmed == Title || trimmed == Name || trimmed == Identity.Hash || trimmed == Path
            || trimmed == System.IO.Path.GetFileName(Path) || trimmed == System.IO.Path.GetFileNameWithoutExtension(Path)
            || trimmed.Replace(".safetensors", string.Empty, StringComparison.Ordinal) == Title
            || trimmed.Replace(".gguf", string.Empty, StringComparison.Ordinal) == Title;
    }
}

/// <summary>
/// The models the server lists: the built-in ras-shapes model first, then the diffusers pipeline folders (with a
/// <c>model_index.json</c>) and single <c>.safetensors</c> and <c>.gguf</c> files found directly in <c>--models-dir</c>, by name.
/// </summary>
internal sealed class ModelCatalog
{
    private readonly ServerOptions options;
    private volatile IReadOnlyList<ModelEntry> entries;

    public ModelCatalog(ServerOptions options)
    {
        this.options = options;
        entries = Scan();
    }

    public IReadOnlyList<ModelEntry> Entries => entries;

    /// <summary>Scans <c>--models-dir</c> again (A1111's <c>refresh-checkpoints</c>).</summary>
    public void Refresh() => entries = Scan();

    /// <summary>The model <paramref name="alias"/> names, or null.</summary>
    public ModelEntry? Find(string alias) => Entries.FirstOrDefault(e => e.Matches(alias));

    private List<ModelEntry> Scan()
    {
        var list = new List<ModelEntry>
        {
            new(ModelIdentity.Of(options.BuiltInModelFolder, options.BuiltInModelName), options.BuiltInModelFolder, BuiltIn: true),
        };
        if (options.ModelsDir is string dir)
        {
            var found = Directory.EnumerateDirectories(dir).Where(d => File.Exists(System.IO.Path.Combine(d, "model_index.json")))
                .Concat(Directory.EnumerateFiles(dir, "*.safetensors"))
                .Concat(Directory.EnumerateFiles(dir, "*.gguf"))
                .Order(StringComparer.Ordinal);
            list.AddRange(found.Select(path => new ModelEntry(ModelIdentity.Of(path), System.IO.Path.GetFullPath(path), BuiltIn: false)));
        }

        return list;
    }
}

using Ras.Errors;
using Ras.IO.Configs;

namespace Ras.Pipelines;

/// <summary>The checks every diffusers pipeline folder gets before anything is loaded.</summary>
internal static class PipelineFolder
{
    /// <summary>
    /// Throws unless <paramref name="folder"/> is a diffusers folder of <paramref name="family"/> (<c>model_index.json</c>'s
    /// <c>_class_name</c>) holding every folder in <paramref name="components"/>.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <param name="family">The family it must belong to.</param>
    /// <param name="components">Component folders it must have (none for a <c>--config</c> folder, whose parts are optional).</param>
    /// <param name="role">What the folder is for, for messages (<c>model</c>, <c>--config</c>).</param>
    /// <exception cref="RasInputException">Not a folder, no <c>model_index.json</c>, or a component folder missing.</exception>
    /// <exception cref="ConfigException">Another family's <c>_class_name</c>.</exception>
    public static void Require(string folder, ModelFamily family, IReadOnlyList<string> components, string role = "model")
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new RasInputException($"{folder}: no such folder (a {family.Name} pipeline is a diffusers folder)");
        }

        string index = Path.Combine(folder, "model_index.json");
        if (!File.Exists(index))
        {
            throw new RasInputException($"{folder}: not a diffusers pipeline folder ({role}: model_index.json not found)");
        }

        string? name = JsonConfig.Load(index).ClassName;
        if (name is null || !family.PipelineClassNames.Contains(name))
        {
            throw new ConfigException(index, "_class_name", $"is '{name}'; expected a {family.Name} pipeline ({string.Join(" or ", family.PipelineClassNames)})");
        }

        string[] missing = components.Where(c => !Directory.Exists(Path.Combine(folder, c))).ToArray();
        if (missing.Length > 0)
        {
            throw new RasInputException($"{folder}: component folder(s) {string.Join(", ", missing.Select(m => m + "/"))} missing (a {family.Name} pipeline needs {string.Join(", ", components)})");
        }
    }
}

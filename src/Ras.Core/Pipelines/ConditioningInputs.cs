using Ras.Errors;
using Ras.IO.Safetensors;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>
/// Named conditioning tensors for <see cref="DenoisingTransformer.Bind"/>: a safetensors file (<c>ras denoise --inputs</c>) or
/// tensors in memory (<c>ras bench</c>'s random inputs). Names are diffusers' pipeline argument names (<c>prompt_embeds</c>,
/// <c>pooled_prompt_embeds</c>, <c>negative_prompt_embeds</c>, …).
/// </summary>
public sealed class ConditioningInputs
{
    private readonly Func<string, bool> contains;
    private readonly Func<string, ScalarType, Tensor> read;
    private readonly Func<string, long[]> shapeOf;

    private ConditioningInputs(string origin, Func<string, bool> contains, Func<string, ScalarType, Tensor> read, Func<string, long[]> shapeOf)
    {
        Origin = origin;
        this.contains = contains;
        this.read = read;
        this.shapeOf = shapeOf;
    }

    /// <summary>Where the tensors come from (a file path, or a description).</summary>
    public string Origin { get; }

    /// <summary>Reads tensors from <paramref name="file"/> (owned by the caller).</summary>
    public static ConditioningInputs FromFile(SafetensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new ConditioningInputs(file.FilePath, file.Contains, (name, dtype) => file.Read(name, dtype), name => [.. file.Get(name).Shape]);
    }

    /// <summary>Serves <paramref name="tensors"/> (owned by the caller; each read returns a converted copy or an alias).</summary>
    public static ConditioningInputs FromTensors(IReadOnlyDictionary<string, Tensor> tensors, string origin)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return new ConditioningInputs(origin, tensors.ContainsKey, (name, dtype) => tensors[name].to_type(dtype), name => tensors[name].shape);
    }

    /// <summary>True when a tensor <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => contains(name);

    /// <summary>The tensor <paramref name="name"/> as <paramref name="dtype"/> on <paramref name="device"/>.</summary>
    /// <exception cref="RasInputException">It is missing, or holds NaN or infinite values (bad input, not a diverged model).</exception>
    public Tensor Require(string name, ScalarType dtype, Device device)
    {
        if (!contains(name))
        {
            throw new SafetensorsException(Origin, name, "required but missing");
        }

        using Tensor value = read(name, dtype);
        if (value.is_floating_point())
        {
            using var scope = NewDisposeScope();
            long bad = value.isfinite().logical_not().sum().item<long>();
            if (bad > 0)
            {
                throw new SafetensorsException(Origin, name, $"holds {bad} NaN or infinite value(s) of {value.NumberOfElements}");
            }
        }

        return value.to(device);
    }

    /// <summary>The tensor <paramref name="name"/> when present, else null.</summary>
    public Tensor? Optional(string name, ScalarType dtype, Device device) => contains(name) ? Require(name, dtype, device) : null;

    /// <summary>The shape of <paramref name="name"/> (without reading it).</summary>
    /// <exception cref="RasInputException">It is missing.</exception>
    public long[] ShapeOf(string name) => contains(name)
        ? shapeOf(name)
        : throw new SafetensorsException(Origin, name, "required but missing");

    /// <summary>The batch (first dim) of <paramref name="name"/>.</summary>
    /// <exception cref="RasInputException">It is missing.</exception>
    public int BatchOf(string name) => (int)ShapeOf(name)[0];
}

using static TorchSharp.torch;

namespace Ras.IO.Checkpoints;

/// <summary>A tensor a checkpoint layout leaves out and a loader supplies by rule: its shape and how to fill it.</summary>
/// <param name="Shape">The tensor's shape.</param>
/// <param name="Fill">Writes the values into a destination of that shape (any dtype/device), under no-grad.</param>
public sealed record SuppliedTensor(long[] Shape, Action<Tensor> Fill)
{
    /// <summary>The <paramref name="size"/> × <paramref name="size"/> identity (e.g. a projection that changes nothing).</summary>
    public static SuppliedTensor Identity(int size) => new([size, size], destination =>
    {
        using Tensor identity = eye(size, dtype: destination.dtype, device: destination.device);
        destination.copy_(identity);
    });
}

/// <summary>
/// A source plus tensors its layout leaves out (e.g. the identity <c>text_projection</c> Stability's single files imply
/// for CLIP-L), produced on demand like every other tensor, so strict binding still reports everything else.
/// </summary>
public sealed class SupplementedTensorSource : ITensorSource
{
    private readonly ITensorSource source;
    private readonly IReadOnlyDictionary<string, SuppliedTensor> supplied;

    /// <summary>Wraps <paramref name="source"/>; a supplied key must not exist in it already.</summary>
    public SupplementedTensorSource(ITensorSource source, IReadOnlyDictionary<string, SuppliedTensor> supplied)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        this.supplied = supplied ?? throw new ArgumentNullException(nameof(supplied));
        string? present = supplied.Keys.FirstOrDefault(source.Contains);
        if (present is not null)
        {
            throw new ArgumentException($"{source.Source} already holds {present}", nameof(supplied));
        }
    }

    /// <inheritdoc />
    public string Source => source.Source;

    /// <inheritdoc />
    public IEnumerable<string> Keys => source.Keys.Concat(supplied.Keys);

    /// <inheritdoc />
    public bool Contains(string key) => supplied.ContainsKey(key) || source.Contains(key);

    /// <inheritdoc />
    public long[] ShapeOf(string key) => supplied.TryGetValue(key, out SuppliedTensor? s) ? [.. s.Shape] : source.ShapeOf(key);

    /// <inheritdoc />
    public ScalarType DTypeOf(string key) => supplied.ContainsKey(key) ? ScalarType.Float32 : source.DTypeOf(key);

    /// <inheritdoc />
    public void CopyInto(string key, Tensor destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!supplied.TryGetValue(key, out SuppliedTensor? s))
        {
            source.CopyInto(key, destination);
            return;
        }

        using var noGrad = no_grad();
        s.Fill(destination);
    }

    /// <inheritdoc />
    public string? FormatOf(string key) => supplied.ContainsKey(key) ? null : source.FormatOf(key);

    /// <inheritdoc />
    public IDisposable? Retain(bool keepPagesMapped = true) => source.Retain(keepPagesMapped);
}

using TorchSharp;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>The one tolerant comparer of the test suite: <c>max|actual − expected| ≤ tolerance × max|expected|</c>.</summary>
public static class TensorAssert
{
    /// <summary>The acceptance tolerance of every fixture comparison.</summary>
    public const double FixtureTolerance = 1e-3;

    /// <summary>Fails with the tensor's name, the max error, where it occurs, and the allowed bound.</summary>
    public static void Close(Tensor expected, Tensor actual, string name, double relativeTolerance = FixtureTolerance)
    {
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            throw new XunitException($"{name}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        }

        using var scope = NewDisposeScope();
        Tensor e = expected.to_type(ScalarType.Float64).cpu();
        Tensor a = actual.to_type(ScalarType.Float64).cpu();
        if (!a.isfinite().all().item<bool>())
        {
            throw new XunitException($"{name}: actual contains NaN or infinite values");
        }

        Tensor error = (a - e).abs().flatten();
        double maxError = error.max().item<double>();
        double scale = e.abs().max().item<double>();
        double bound = relativeTolerance * scale;
        if (!(maxError <= bound))
        {
            long at = error.argmax().item<long>();
            throw new XunitException(
                $"{name}: max |actual − expected| = {maxError:G4} at flat index {at} ({Index(at, expected.shape)}), " +
                $"allowed {bound:G4} (= {relativeTolerance} × max|expected| {scale:G4}); actual {a.flatten()[at].item<double>():G6}, expected {e.flatten()[at].item<double>():G6}");
        }
    }

    /// <summary>True when both tensors have the same shape and bit-identical values.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape))
        {
            return false;
        }

        using Tensor equal = a.eq(b);
        using Tensor all = equal.all();
        return all.item<bool>();
    }

    /// <summary>
    /// Fails unless <paramref name="actual"/> equals <paramref name="expected"/> exactly, compared as float32: the same
    /// shape, NaN exactly where the expected value is NaN (payload and sign not compared), +0 == −0, every other value
    /// identical (max abs diff 0). The message names the first differing element.
    /// </summary>
    public static void Exact(Tensor expected, Tensor actual, string name)
    {
        if (!expected.shape.SequenceEqual(actual.shape))
        {
            throw new XunitException($"{name}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
        }

        using var scope = NewDisposeScope();
        float[] e = expected.to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        float[] a = actual.to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        for (long i = 0; i < e.Length; i++)
        {
            bool same = float.IsNaN(e[i]) ? float.IsNaN(a[i]) : a[i] == e[i];
            if (!same)
            {
                throw new XunitException(
                    $"{name}: element {i} {Index(i, expected.shape)} is {a[i]:R} (0x{BitConverter.SingleToUInt32Bits(a[i]):X8}), expected {e[i]:R} (0x{BitConverter.SingleToUInt32Bits(e[i]):X8})");
            }
        }
    }

    /// <summary>Largest absolute difference, for reporting.</summary>
    public static double MaxAbsDiff(Tensor expected, Tensor actual)
    {
        using var scope = NewDisposeScope();
        return (actual.to_type(ScalarType.Float64).cpu() - expected.to_type(ScalarType.Float64).cpu()).abs().max().item<double>();
    }

    private static string Index(long flat, long[] shape)
    {
        var index = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }

        return "[" + string.Join(", ", index) + "]";
    }
}

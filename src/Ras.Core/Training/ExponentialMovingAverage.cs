using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Training;

/// <summary>EMA of a module's parameters, kept in a second module of the same architecture (the one shipped).</summary>
internal sealed class ExponentialMovingAverage
{
    private readonly (Tensor Live, Tensor Average)[] pairs;

    public ExponentialMovingAverage(nn.Module live, nn.Module average)
    {
        var averages = average.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        pairs = live.named_parameters().Select(p => ((Tensor)p.parameter, averages[p.name])).ToArray();
        using var noGrad = no_grad();
        foreach (var (l, a) in pairs)
        {
            a.copy_(l);
            a.requires_grad_(false);
        }
    }

    /// <summary><c>average ← decay·average + (1 − decay)·live</c>.</summary>
    public void Update(double decay)
    {
        // Two scalars per update rather than two implicit conversions per parameter (see AdamW.Step).
        using Scalar keep = decay.ToScalar(), take = (1 - decay).ToScalar();
        using var noGrad = no_grad();
        foreach (var (l, a) in pairs)
        {
            a.mul_(keep).add_(l, alpha: take);
        }
    }
}

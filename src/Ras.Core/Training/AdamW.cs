using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Training;

/// <summary>
/// AdamW (decoupled weight decay, bias-corrected moments), written out so its state is plain named tensors
/// that a checkpoint can save and restore exactly.
/// </summary>
internal sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<(string Name, Tensor Parameter)> parameters;
    private readonly Dictionary<string, (Tensor M, Tensor V)> moments = [];

    public AdamW(IReadOnlyList<(string Name, Tensor Parameter)> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
    {
        this.parameters = parameters;
        (Beta1, Beta2, Eps, WeightDecay) = (beta1, beta2, eps, weightDecay);
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
        {
            moments[name] = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
        }
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Eps { get; }

    public double WeightDecay { get; }

    /// <summary>Optimizer steps taken (for bias correction).</summary>
    public long Steps { get; set; }

    /// <summary>First and second moments by parameter name, for checkpoints.</summary>
    public IReadOnlyDictionary<string, (Tensor M, Tensor V)> Moments => moments;

    /// <summary>One update with learning rate <paramref name="lr"/>; parameters without a gradient are skipped.</summary>
    public void Step(double lr)
    {
        Steps++;
        double correction1 = 1 - Math.Pow(Beta1, Steps);
        double correction2 = 1 - Math.Pow(Beta2, Steps);

        // Scalars made once per step and disposed at its end, not converted implicitly per call and left to the
        // finalizer (see CollectionPause for why implicit ones are a hazard).
        using Scalar decay = (1 - (lr * WeightDecay)).ToScalar(), beta1 = Beta1.ToScalar(), beta2 = Beta2.ToScalar();
        using Scalar oneMinusBeta1 = (1 - Beta1).ToScalar(), oneMinusBeta2 = (1 - Beta2).ToScalar();
        using Scalar secondCorrection = correction2.ToScalar(), eps = Eps.ToScalar(), stepSize = (-lr / correction1).ToScalar();
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters)
        {
            Tensor? grad = p.grad;
            if (grad is null)
            {
                continue;
            }

            var (m, v) = moments[name];
            using var scope = NewDisposeScope();
            p.mul_(decay);
            m.mul_(beta1).add_(grad, alpha: oneMinusBeta1);
            v.mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
            Tensor denominator = v.div(secondCorrection).sqrt_().add_(eps);
            p.addcdiv_(m, denominator, value: stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var (m, v) in moments.Values)
        {
            m.Dispose();
            v.Dispose();
        }
    }
}

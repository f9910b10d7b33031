using Ras.Models.Common;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>
/// Wraps an observer (or none) and keeps a copy of every step's velocity: as the sampler handed it over
/// (<see cref="Received"/>) and as the Euler update used it (<see cref="Velocities"/>, e.g. with RAS fills).
/// </summary>
public sealed class RecordingObserver(ISamplerStepObserver? inner = null) : ISamplerStepObserver, IDisposable
{
    public List<Tensor> Received { get; } = [];

    /// <summary>The wrapped observer.</summary>
    public ISamplerStepObserver? Inner => inner;

    public List<Tensor> Velocities { get; } = [];

    public void OnStart(SamplingRun run) => inner?.OnStart(run);

    public ITokenRouting? BeforeModel(int step) => inner?.BeforeModel(step);

    public Tensor AfterModel(int step, Tensor velocity)
    {
        Received.Add(velocity.clone().DetachFromDisposeScope());
        Tensor used = inner?.AfterModel(step, velocity) ?? velocity;
        Velocities.Add(used.clone().DetachFromDisposeScope());
        return used;
    }

    public int ComputedTokens(int step) => inner?.ComputedTokens(step) ?? 0;

    public void Dispose()
    {
        Received.ForEach(v => v.Dispose());
        Velocities.ForEach(v => v.Dispose());
    }
}

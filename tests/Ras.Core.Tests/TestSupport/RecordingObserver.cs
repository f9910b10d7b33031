using Ras.Models.Common;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>Wraps an observer (or none) and keeps a copy of every step's velocity (what the Euler update used).</summary>
public sealed class RecordingObserver(ISamplerStepObserver? inner = null) : ISamplerStepObserver, IDisposable
{
    public List<Tensor> Velocities { get; } = [];

    public void OnStart(SamplingRun run) => inner?.OnStart(run);

    public ITokenRouting? BeforeModel(int step) => inner?.BeforeModel(step);

    public Tensor AfterModel(int step, Tensor velocity)
    {
        Tensor used = inner?.AfterModel(step, velocity) ?? velocity;
        Velocities.Add(used.clone().DetachFromDisposeScope());
        return used;
    }

    public int ComputedTokens(int step) => inner?.ComputedTokens(step) ?? 0;

    public void Dispose() => Velocities.ForEach(v => v.Dispose());
}

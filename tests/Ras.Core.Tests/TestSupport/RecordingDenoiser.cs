using Ras.Models.Common;
using Ras.Sampling;
using static TorchSharp.torch;

namespace Ras.Tests.TestSupport;

/// <summary>Wraps a denoiser and keeps a copy of every model call's input latents and raw output.</summary>
public sealed class RecordingDenoiser(IDenoiser inner) : IDenoiser, IDisposable
{
    public List<Tensor> Inputs { get; } = [];

    public List<Tensor> Outputs { get; } = [];

    public int PatchSize => inner.PatchSize;

    public int GuidanceCopies => inner.GuidanceCopies;

    public SamplingConvention Convention => inner.Convention;

    public Tensor Predict(Tensor latents, Tensor timesteps, ITokenRouting? routing)
    {
        Inputs.Add(latents.clone().DetachFromDisposeScope());
        Tensor output = inner.Predict(latents, timesteps, routing);
        Outputs.Add(output.clone().DetachFromDisposeScope());
        return output;
    }

    public void Dispose()
    {
        Inputs.ForEach(t => t.Dispose());
        Outputs.ForEach(t => t.Dispose());
    }
}

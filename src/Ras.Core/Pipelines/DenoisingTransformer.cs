using Ras.Errors;
using Ras.Models.Common;
using Ras.Sampling;
using Ras.Schedulers;
using static TorchSharp.torch;

namespace Ras.Pipelines;

/// <summary>
/// A family's transformer loaded on its own, with what the sampling loop needs around it: shape facts, the family's defaults,
/// its schedule, a denoiser bound to named conditioning tensors, random conditioning and an exact FLOP count. <c>ras denoise</c>,
/// <c>ras bench</c> and the conformance tests drive every family through it. Dispose it to free the model.
/// </summary>
public abstract class DenoisingTransformer : IDisposable
{
    /// <summary>The family.</summary>
    public abstract ModelFamily Family { get; }

    /// <summary>One line describing the model (class, depth, width, heads, variant).</summary>
    public abstract string Summary { get; }

    /// <summary>Config values for reports (layers, hidden width, heads …).</summary>
    public abstract IReadOnlyDictionary<string, object> ConfigFacts { get; }

    /// <summary>Latent pixels per token edge (the RAS token grid).</summary>
    public abstract int PatchSize { get; }

    /// <summary>Channels of the latents the sampler works on.</summary>
    public abstract int LatentChannels { get; }

    /// <summary>Trained latent edge (the default size when latents are drawn).</summary>
    public abstract int SampleSize { get; }

    /// <summary>Largest latent edge the model's positions cover, or null when any size works (RoPE).</summary>
    public abstract int? MaxLatentSize { get; }

    /// <summary>The family's default step count.</summary>
    public abstract int DefaultSteps { get; }

    /// <summary>The family's default guidance scale (what it means: <see cref="GuidanceKind"/>).</summary>
    public abstract double DefaultGuidance { get; }

    /// <summary>What this model's guidance scale is.</summary>
    public abstract GuidanceKind GuidanceKind { get; }

    /// <summary>Text tokens per prompt in the family's pipeline (for benchmarks).</summary>
    public abstract int DefaultTextTokens { get; }

    /// <summary>The scheduler config of the family's released pipelines (for runs without a pipeline folder, e.g. benchmarks).</summary>
    public abstract FlowMatchEulerDiscreteSchedulerConfig StandardScheduler { get; }

    /// <summary>The conditioning tensors <see cref="Bind"/> reads (for help and messages).</summary>
    public abstract string InputsDescription { get; }

    /// <summary>The schedule of an <paramref name="steps"/>-step run over <paramref name="imageTokens"/> tokens per image (diffusers' pipeline rule).</summary>
    public virtual FlowMatchSchedule Schedule(FlowMatchEulerDiscreteScheduler scheduler, int steps, long imageTokens)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.SetTimesteps(steps);
    }

    /// <summary>
    /// Reads the conditioning for <paramref name="batch"/> images from <paramref name="inputs"/> (with the negative tensors when
    /// <paramref name="guidance"/> uses CFG) and binds the model to it; the returned owner frees the conditioning.
    /// </summary>
    /// <exception cref="RasInputException">A required tensor is missing, or the shapes do not fit together.</exception>
    public abstract (IDenoiser Denoiser, IDisposable Conditioning) Bind(ConditioningInputs inputs, int batch, Guidance guidance, Device device);

    /// <summary>Random conditioning tensors named as <see cref="Bind"/> reads them (with negatives when <paramref name="negative"/>).</summary>
    public abstract Dictionary<string, Tensor> RandomConditioning(int batch, int textTokens, bool negative, Device device);

    /// <summary>Exact FLOPs of one forward computing <paramref name="computedTokens"/> of <paramref name="imageTokens"/> per sample.</summary>
    public abstract double Flops(long batch, long imageTokens, long computedTokens, long textTokens);

    /// <summary>
    /// The initial latents held by <paramref name="inputs"/> (tensor <c>latents</c>), as the sampler's <c>[B, C, H, W]</c>, and how to
    /// put final latents back into the layout they came in; null when the inputs hold none.
    /// </summary>
    /// <exception cref="RasInputException">Latents of the wrong shape.</exception>
    public virtual (Tensor Latents, Func<Tensor, Tensor> ToInputLayout)? ReadLatents(ConditioningInputs inputs, Device device)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!inputs.Contains("latents"))
        {
            return null;
        }

        Tensor given = inputs.Require("latents", ScalarType.Float32, device);
        long[] shape = given.shape;
        if (shape.Length != 4 || shape[1] != LatentChannels || shape[2] % PatchSize != 0 || shape[3] % PatchSize != 0)
        {
            given.Dispose();
            throw new SafetensorsException(inputs.Origin, "latents",
                $"shape [{string.Join(", ", shape)}] must be [B, {LatentChannels}, H, W] with H and W multiples of the patch size {PatchSize}");
        }

        CheckLatentSize(shape[2], shape[3], "latents");
        return (given, final => final.alias());
    }

    /// <summary>Throws when a latent grid of <paramref name="height"/>×<paramref name="width"/> exceeds the model's positions.</summary>
    /// <exception cref="OptionsException">It does (named <paramref name="option"/>).</exception>
    public void CheckLatentSize(long height, long width, string option)
    {
        if (MaxLatentSize is int max && (height > max || width > max))
        {
            throw new OptionsException(option, $"a {height}×{width} latent grid exceeds the transformer's position table ({max}×{max} latent pixels)");
        }
    }

    /// <summary>
    /// Makes every forward until the result is disposed stop with <see cref="OperationCanceledException"/> between blocks once
    /// <paramref name="cancellationToken"/> is cancelled (<see cref="CancelBetweenBlocks"/>), not only between sampler steps.
    /// </summary>
    public IDisposable CancelBetweenBlocks(CancellationToken cancellationToken) =>
        Blocks is { } blocks ? Models.Common.CancelBetweenBlocks.Install(blocks, cancellationToken) : NoBlocks.Instance;

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the model.</summary>
    protected abstract void Dispose(bool disposing);

    /// <summary>The transformer's diffusers <c>config.json</c> text (to write the model as a folder, e.g. <c>ras bench --weights</c>).</summary>
    internal abstract string ConfigJson { get; }

    /// <summary>The transformer module itself: its state dict has the diffusers key names and shapes.</summary>
    internal abstract TorchSharp.torch.nn.Module Module { get; }

    /// <summary>The model's per-block hook, for <see cref="CancelBetweenBlocks"/>; null when it has none.</summary>
    protected virtual Models.Common.IStreamedBlocks? Blocks => null;

    private sealed class NoBlocks : IDisposable
    {
        public static readonly NoBlocks Instance = new();

        public void Dispose()
        {
        }
    }
}

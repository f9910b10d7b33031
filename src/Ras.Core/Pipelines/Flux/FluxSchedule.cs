using Ras.Schedulers;

namespace Ras.Pipelines.Flux;

/// <summary>
/// The schedule inputs diffusers' <c>FluxPipeline.__call__</c> (pipelines/flux/pipeline_flux.py) gives the scheduler:
/// explicit sigmas <c>linspace(1, 1/n, n)</c> and, for the dynamic time shift, μ from the image token count
/// (<c>calculate_shift</c>).
/// </summary>
public static class FluxSchedule
{
    /// <summary>
    /// <c>np.linspace(1.0, 1/n, n)</c> in float64, rounded to float32 (the scheduler's <c>sigmas=</c> path rounds them).
    /// </summary>
    public static float[] Sigmas(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        return [.. FlowMatchEulerDiscreteScheduler.NumpyLinspace(1.0, 1.0 / steps, steps).Select(s => (float)s)];
    }

    /// <summary>
    /// diffusers' <c>calculate_shift(image_seq_len, base_image_seq_len, max_image_seq_len, base_shift, max_shift)</c> with
    /// the scheduler config's values, in float64: μ is linear in the token count through (base_len, base_shift) and
    /// (max_len, max_shift), extrapolated outside (e.g. 64 tokens → 0.4675 with FLUX.1-dev's config).
    /// </summary>
    /// <param name="imageSeqLen">Packed image tokens, <c>(H/2)·(W/2)</c> for H×W latents.</param>
    /// <param name="config">The scheduler config (its <c>base_shift</c>, <c>max_shift</c>, <c>*_image_seq_len</c>).</param>
    public static double Mu(long imageSeqLen, FlowMatchEulerDiscreteSchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegative(imageSeqLen);
        double m = (config.MaxShift - config.BaseShift) / (config.MaxImageSeqLen - config.BaseImageSeqLen);
        double b = config.BaseShift - (m * config.BaseImageSeqLen);
        return (imageSeqLen * m) + b;
    }

    /// <summary><c>FluxPipeline</c>'s schedule: <see cref="Sigmas"/>, with <see cref="Mu"/> of the token count when the scheduler shifts dynamically (dev).</summary>
    public static FlowMatchSchedule For(FlowMatchEulerDiscreteScheduler scheduler, int steps, long imageTokens)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        double? mu = scheduler.Config.UseDynamicShifting ? Mu(imageTokens, scheduler.Config) : null;
        return scheduler.SetTimesteps(steps, Sigmas(steps), mu);
    }

    /// <summary>The scheduler config of diffusers' FLUX.1-dev (dynamic shift) or FLUX.1-schnell (shift 1) repositories.</summary>
    public static FlowMatchEulerDiscreteSchedulerConfig StandardConfig(bool dev) => new()
    {
        Shift = dev ? 3.0 : 1.0, UseDynamicShifting = dev, BaseShift = 0.5, MaxShift = 1.15, BaseImageSeqLen = 256, MaxImageSeqLen = 4096,
    };
}

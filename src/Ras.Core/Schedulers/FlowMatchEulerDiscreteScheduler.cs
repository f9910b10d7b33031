using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Schedulers;

/// <summary>A sampling schedule: <c>n + 1</c> sigmas (last 0) and the <c>n</c> timesteps given to the model.</summary>
/// <param name="Sigmas">Noise levels, float32 as diffusers stores them, ending with 0.</param>
/// <param name="Timesteps"><c>σ·num_train_timesteps</c> in float32, one per step.</param>
/// <param name="NumTrainTimesteps">The scheduler's <c>num_train_timesteps</c> T (timesteps are <c>σ·T</c>).</param>
public sealed record FlowMatchSchedule(float[] Sigmas, float[] Timesteps, int NumTrainTimesteps = 1000)
{
    /// <summary>Number of denoising steps.</summary>
    public int Steps => Timesteps.Length;

    /// <summary>
    /// The schedule from step <paramref name="startStep"/> on (diffusers' img2img <c>timesteps[t_start:]</c> with
    /// <c>set_begin_index(t_start)</c>): the remaining timesteps and their sigmas, still ending with 0.
    /// </summary>
    public FlowMatchSchedule From(int startStep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startStep);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(startStep, Steps);
        return startStep == 0 ? this : new FlowMatchSchedule(Sigmas[startStep..], Timesteps[startStep..], NumTrainTimesteps);
    }
}

/// <summary>
/// Flow-matching Euler sampler schedule and update. Mirrors diffusers 0.32
/// <c>FlowMatchEulerDiscreteScheduler</c> (schedulers/scheduling_flow_match_euler_discrete.py) with a static or a
/// dynamic (exponential, μ-dependent) time shift, reproducing its float32/float64 rounding exactly (see the SD3 and
/// Flux fixture READMEs).
/// </summary>
public sealed class FlowMatchEulerDiscreteScheduler
{
    private readonly double sigmaMax;
    private readonly double sigmaMin;

    /// <summary>Creates the scheduler.</summary>
    public FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteSchedulerConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));

        // Training sigmas are float32: u = linspace(1, T, T)/T, shifted once unless the shift is dynamic (then it is
        // applied per resolution in SetTimesteps). Only the ends are used.
        float shift = config.UseDynamicShifting ? 1f : (float)config.Shift;
        float shiftMinusOne = config.UseDynamicShifting ? 0f : (float)(config.Shift - 1);
        float ShiftF32(float u) => shift * u / (1f + (shiftMinusOne * u));
        sigmaMax = ShiftF32(config.NumTrainTimesteps / (float)config.NumTrainTimesteps);
        sigmaMin = ShiftF32(1f / config.NumTrainTimesteps);
    }

    /// <summary>The configuration.</summary>
    public FlowMatchEulerDiscreteSchedulerConfig Config { get; }

    /// <summary>
    /// diffusers <c>set_timesteps(n, sigmas=…, mu=…)</c>. Without <paramref name="sigmas"/>: <c>u = linspace(σmax·T, σmin·T, n)/T</c>
    /// in float64, shifted in float64 (the static shift a second time, as diffusers does), rounded to float32. With
    /// <paramref name="sigmas"/> (e.g. FLUX.1's <c>linspace(1, 1/n, n)</c>): the values rounded to float32 and shifted in
    /// float32 arithmetic, as numpy evaluates it on diffusers' float32 array. The shift is the static one, or with
    /// <c>use_dynamic_shifting</c> the exponential time shift <c>e^μ / (e^μ + (1/σ − 1))</c>. Timesteps are <c>σ·T</c> in
    /// float32; a final 0 ends the sigmas.
    /// </summary>
    /// <param name="steps">Number of denoising steps; must equal the length of <paramref name="sigmas"/> when given.</param>
    /// <param name="sigmas">Explicit unshifted sigmas, or null for the scheduler's own spacing.</param>
    /// <param name="mu">The dynamic shift's μ (the pipeline's <c>calculate_shift</c> of the image size); required with
    /// <c>use_dynamic_shifting</c>, ignored otherwise.</param>
    /// <exception cref="ArgumentException">Dynamic shifting without <paramref name="mu"/>, or sigmas that do not fit.</exception>
    public FlowMatchSchedule SetTimesteps(int steps, float[]? sigmas = null, double? mu = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (Config.UseDynamicShifting && mu is null)
        {
            throw new ArgumentException("the scheduler config has use_dynamic_shifting = true: pass mu (the image-size dependent shift)", nameof(mu));
        }

        if (sigmas is not null && sigmas.Length != steps)
        {
            throw new ArgumentException($"{sigmas.Length} sigmas given for {steps} steps", nameof(sigmas));
        }

        int train = Config.NumTrainTimesteps;
        float[] shifted = sigmas is null ? ShiftFloat64(NumpyLinspace(sigmaMax * train, sigmaMin * train, steps), train, mu)
            : ShiftFloat32(sigmas, mu);
        var all = new float[steps + 1];
        var timesteps = new float[steps];
        for (int i = 0; i < steps; i++)
        {
            all[i] = shifted[i];
            timesteps[i] = shifted[i] * train;
        }

        all[steps] = 0f;
        return new FlowMatchSchedule(all, timesteps, train);
    }

    /// <summary>The scheduler's own float64 spacing <c>t/T</c>, shifted in float64, rounded to float32.</summary>
    private float[] ShiftFloat64(double[] timesteps, int train, double? mu)
    {
        double shift = Config.Shift;
        double e = Config.UseDynamicShifting ? Math.Exp(mu!.Value) : 0;
        return [.. timesteps.Select(t =>
        {
            double s = t / train;
            return (float)(Config.UseDynamicShifting ? e / (e + ((1 / s) - 1)) : shift * s / (1 + ((shift - 1) * s)));
        })];
    }

    /// <summary>
    /// Explicit sigmas: every operation in float32, as numpy computes a Python float with a float32 array (the Python
    /// float — <c>e^μ</c>, the shift — is rounded to float32 first). Evaluating in float64 and rounding once differs by
    /// 1–2 ulp in about a third of FLUX.1-dev's sigmas.
    /// </summary>
    private float[] ShiftFloat32(float[] sigmas, double? mu)
    {
        if (Config.UseDynamicShifting)
        {
            float e = (float)Math.Exp(mu!.Value);
            return [.. sigmas.Select(s => e / (e + ((1f / s) - 1f)))];
        }

        float shift = (float)Config.Shift;
        float shiftMinusOne = (float)(Config.Shift - 1);
        return [.. sigmas.Select(s => shift * s / (1f + (shiftMinusOne * s)))];
    }

    /// <summary>
    /// Euler update <c>x + (σ_next − σ)·v</c>: the current latents are rounded to float32 first and the
    /// sigma difference is a float32 number, as in diffusers' <c>step()</c>. Returns float32 latents.
    /// </summary>
    public static Tensor Step(Tensor latents, Tensor velocity, FlowMatchSchedule schedule, int step)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        float dt = schedule.Sigmas[step + 1] - schedule.Sigmas[step];
        using Tensor x = latents.to_type(ScalarType.Float32);
        using Tensor v = velocity.to_type(ScalarType.Float32);
        using Tensor delta = v.mul(dt);
        return x.add(delta);
    }

    /// <summary><c>numpy.linspace(start, stop, n)</c> in float64, including its exact end point.</summary>
    internal static double[] NumpyLinspace(double start, double stop, int n)
    {
        var values = new double[n];
        if (n == 1)
        {
            values[0] = start;
            return values;
        }

        double step = (stop - start) / (n - 1);
        for (int i = 0; i < n; i++)
        {
            values[i] = (i * step) + start;
        }

        values[n - 1] = stop;
        return values;
    }
}

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
/// Flow-matching Euler sampler schedule and update. Mirrors diffusers
/// <c>FlowMatchEulerDiscreteScheduler</c> (schedulers/scheduling_flow_match_euler_discrete.py) with a
/// static shift, reproducing its float32/float64 rounding exactly (see the SD3 fixture README).
/// </summary>
public sealed class FlowMatchEulerDiscreteScheduler
{
    private readonly double sigmaMax;
    private readonly double sigmaMin;

    /// <summary>Creates the scheduler.</summary>
    public FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteSchedulerConfig config)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));

        // Training sigmas are float32: u = linspace(1, T, T)/T, shifted once. Only the ends are used.
        float shift = (float)config.Shift;
        float shiftMinusOne = (float)(config.Shift - 1);
        float ShiftF32(float u) => shift * u / (1f + (shiftMinusOne * u));
        sigmaMax = ShiftF32(config.NumTrainTimesteps / (float)config.NumTrainTimesteps);
        sigmaMin = ShiftF32(1f / config.NumTrainTimesteps);
    }

    /// <summary>The configuration.</summary>
    public FlowMatchEulerDiscreteSchedulerConfig Config { get; }

    /// <summary>
    /// diffusers <c>set_timesteps(n)</c>: <c>u = linspace(σmax·T, σmin·T, n)/T</c> in float64, shifted
    /// (a second time, as diffusers does), rounded to float32; timesteps <c>= σ·T</c> in float32; a final 0.
    /// </summary>
    public FlowMatchSchedule SetTimesteps(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int train = Config.NumTrainTimesteps;
        double shift = Config.Shift;
        double[] u = NumpyLinspace(sigmaMax * train, sigmaMin * train, steps);
        var sigmas = new float[steps + 1];
        var timesteps = new float[steps];
        for (int i = 0; i < steps; i++)
        {
            double s = u[i] / train;
            sigmas[i] = (float)(shift * s / (1 + ((shift - 1) * s)));
            timesteps[i] = sigmas[i] * train;
        }

        sigmas[steps] = 0f;
        return new FlowMatchSchedule(sigmas, timesteps, train);
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
    private static double[] NumpyLinspace(double start, double stop, int n)
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

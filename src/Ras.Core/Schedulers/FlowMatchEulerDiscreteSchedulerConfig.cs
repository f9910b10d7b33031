using Ras.IO.Configs;

namespace Ras.Schedulers;

/// <summary>
/// diffusers <c>FlowMatchEulerDiscreteScheduler</c> config (defaults as diffusers 0.32). The static shift and the
/// resolution-dependent (dynamic, exponential) time shift are implemented; configs asking for Karras/exponential/beta
/// sigmas, inverted sigmas, a terminal shift or another time-shift type are rejected by <see cref="Load"/> rather than
/// silently sampled differently.
/// </summary>
public sealed record FlowMatchEulerDiscreteSchedulerConfig
{
    /// <summary>The diffusers class name this config describes.</summary>
    public const string ClassName = "FlowMatchEulerDiscreteScheduler";

    /// <summary><c>num_train_timesteps</c>.</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary><c>shift</c>: σ ↦ s·σ / (1 + (s − 1)·σ); SD3 uses 3.0. Not used when <see cref="UseDynamicShifting"/> is on.</summary>
    public double Shift { get; init; } = 1.0;

    /// <summary>
    /// <c>use_dynamic_shifting</c>: shift by the image size instead of <see cref="Shift"/>, σ ↦ e^μ / (e^μ + (1/σ − 1)),
    /// with μ given to <see cref="FlowMatchEulerDiscreteScheduler.SetTimesteps"/> (FLUX.1-dev).
    /// </summary>
    public bool UseDynamicShifting { get; init; }

    /// <summary><c>base_shift</c>: μ at <see cref="BaseImageSeqLen"/> image tokens (the pipeline's <c>calculate_shift</c>).</summary>
    public double BaseShift { get; init; } = 0.5;

    /// <summary><c>max_shift</c>: μ at <see cref="MaxImageSeqLen"/> image tokens.</summary>
    public double MaxShift { get; init; } = 1.15;

    /// <summary><c>base_image_seq_len</c>.</summary>
    public int BaseImageSeqLen { get; init; } = 256;

    /// <summary><c>max_image_seq_len</c>.</summary>
    public int MaxImageSeqLen { get; init; } = 4096;

    /// <summary>The diffusers <c>scheduler_config.json</c> text.</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["_class_name"] = ClassName, ["num_train_timesteps"] = NumTrainTimesteps, ["shift"] = Shift, ["use_dynamic_shifting"] = UseDynamicShifting,
        ["base_shift"] = BaseShift, ["max_shift"] = MaxShift, ["base_image_seq_len"] = BaseImageSeqLen, ["max_image_seq_len"] = MaxImageSeqLen,
    }, JsonWriting);

    private static readonly System.Text.Json.JsonSerializerOptions JsonWriting = new() { WriteIndented = true };

    /// <summary>Reads <c>scheduler/scheduler_config.json</c>.</summary>
    /// <exception cref="Errors.ConfigException">Wrong class, wrong field type, or an option we do not implement.</exception>
    public static FlowMatchEulerDiscreteSchedulerConfig Load(string path)
    {
        var json = JsonConfig.Load(path);
        json.RequireClass(ClassName);
        foreach (string flag in new[] { "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "invert_sigmas", "stochastic_sampling" })
        {
            if (json.ReadBool(flag, false))
            {
                throw json.Invalid(flag, "true is not implemented (only the static and the dynamic time shift are)");
            }
        }

        if (json.ReadNullableDouble("shift_terminal") is double terminal)
        {
            throw json.Invalid("shift_terminal", $"{terminal} is not implemented (only null is)");
        }

        if (json.ReadString("time_shift_type") is string timeShift && timeShift != "exponential")
        {
            throw json.Invalid("time_shift_type", $"'{timeShift}' is not implemented (only \"exponential\" is)");
        }

        var defaults = new FlowMatchEulerDiscreteSchedulerConfig();
        var config = new FlowMatchEulerDiscreteSchedulerConfig
        {
            NumTrainTimesteps = json.ReadInt("num_train_timesteps", defaults.NumTrainTimesteps),
            Shift = json.ReadDouble("shift", defaults.Shift),
            UseDynamicShifting = json.ReadBool("use_dynamic_shifting", defaults.UseDynamicShifting),
            BaseShift = json.ReadDouble("base_shift", defaults.BaseShift),
            MaxShift = json.ReadDouble("max_shift", defaults.MaxShift),
            BaseImageSeqLen = json.ReadInt("base_image_seq_len", defaults.BaseImageSeqLen),
            MaxImageSeqLen = json.ReadInt("max_image_seq_len", defaults.MaxImageSeqLen),
        };
        if (config.NumTrainTimesteps < 1)
        {
            throw json.Invalid("num_train_timesteps", "must be at least 1");
        }

        if (!(config.Shift > 0) || double.IsInfinity(config.Shift))
        {
            throw json.Invalid("shift", "must be a positive number");
        }

        foreach (var (field, value) in new[] { ("base_shift", config.BaseShift), ("max_shift", config.MaxShift) }.Where(f => !double.IsFinite(f.Item2)))
        {
            throw json.Invalid(field, $"must be a finite number, found {value}");
        }

        if (config.MaxImageSeqLen == config.BaseImageSeqLen)
        {
            throw json.Invalid("max_image_seq_len", $"equals base_image_seq_len ({config.BaseImageSeqLen}): the shift per image token is undefined");
        }

        return config;
    }
}

using Ras.IO.Configs;

namespace Ras.Schedulers;

/// <summary>
/// diffusers <c>FlowMatchEulerDiscreteScheduler</c> config (defaults as diffusers). Only the static
/// shift is implemented; configs asking for dynamic shifting or Karras/exponential/beta sigmas are
/// rejected by <see cref="Load"/> rather than silently sampled differently.
/// </summary>
public sealed record FlowMatchEulerDiscreteSchedulerConfig
{
    /// <summary>The diffusers class name this config describes.</summary>
    public const string ClassName = "FlowMatchEulerDiscreteScheduler";

    /// <summary><c>num_train_timesteps</c>.</summary>
    public int NumTrainTimesteps { get; init; } = 1000;

    /// <summary><c>shift</c>: σ ↦ s·σ / (1 + (s − 1)·σ); SD3 uses 3.0.</summary>
    public double Shift { get; init; } = 1.0;

    /// <summary>The diffusers <c>scheduler_config.json</c> text.</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["_class_name"] = ClassName, ["num_train_timesteps"] = NumTrainTimesteps, ["shift"] = Shift, ["use_dynamic_shifting"] = false,
    }, JsonWriting);

    private static readonly System.Text.Json.JsonSerializerOptions JsonWriting = new() { WriteIndented = true };

    /// <summary>Reads <c>scheduler/scheduler_config.json</c>.</summary>
    /// <exception cref="Errors.ConfigException">Wrong class, wrong field type, or an option we do not implement.</exception>
    public static FlowMatchEulerDiscreteSchedulerConfig Load(string path)
    {
        var json = JsonConfig.Load(path);
        json.RequireClass(ClassName);
        foreach (string flag in new[] { "use_dynamic_shifting", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "invert_sigmas", "stochastic_sampling" })
        {
            if (json.ReadBool(flag, false))
            {
                throw json.Invalid(flag, "true is not implemented (only the static-shift schedule is)");
            }
        }

        if (json.ReadNullableDouble("shift_terminal") is double terminal)
        {
            throw json.Invalid("shift_terminal", $"{terminal} is not implemented (only null is)");
        }

        var config = new FlowMatchEulerDiscreteSchedulerConfig
        {
            NumTrainTimesteps = json.ReadInt("num_train_timesteps", 1000),
            Shift = json.ReadDouble("shift", 1.0),
        };
        if (config.NumTrainTimesteps < 1)
        {
            throw json.Invalid("num_train_timesteps", "must be at least 1");
        }

        if (!(config.Shift > 0) || double.IsInfinity(config.Shift))
        {
            throw json.Invalid("shift", "must be a positive number");
        }

        return config;
    }
}

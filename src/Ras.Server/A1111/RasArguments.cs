using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ras.Errors;
using Ras.RegionAdaptive;
using Ras.Server.Http;
using Ras.Server.Jobs;

namespace Ras.Server.A1111;

/// <summary>
/// RAS settings as A1111 clients send them: the extension convention <c>alwayson_scripts.RAS.args</c> (positional, trailing
/// ones optional) and <c>override_settings</c> keys <c>ras_*</c>; the OpenAI surface's <c>ras</c> (true, or an object of the same
/// names). Options left out take the model's <c>--ras</c> recommendation when the job runs.
/// </summary>
internal static class RasArguments
{
    /// <summary>The positional order of <c>alwayson_scripts.RAS.args</c>: the official options, then ours appended.</summary>
    public static IReadOnlyList<string> Names => NameArray;

    private static readonly string[] NameArray =
    [
        "enabled", "sample_ratio", "metric", "high_ratio", "starvation_scale", "scheduler_start_step", "scheduler_end_step",
        "error_reset_steps", "skip_num_step", "skip_num_step_length", "selection", "sample_ratio_end", "dilate",
    ];

    /// <summary>The <c>override_settings</c> keys: <c>ras_</c> + each name.</summary>
    public static IEnumerable<string> OverrideKeys => Names.Select(n => "ras_" + n);

    /// <summary>Reads <c>args</c> of <c>alwayson_scripts.RAS</c>; null when it has none (the extension is then on with its defaults).</summary>
    public static (bool? Enabled, RasPatch Patch) FromArgs(JsonArray args, string path)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Count > Names.Count)
        {
            throw ApiException.BadRequest($"{path}", $"takes at most {Names.Count} values ({string.Join(", ", Names)}), found {args.Count}");
        }

        var named = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            named[Names[i]] = args[i];
        }

        return Read(named, name => $"{path}[{Array.IndexOf(NameArray, name)}] ({name})");
    }

    /// <summary>Reads the <c>ras_*</c> keys of an <c>override_settings</c> object, or the names of an OpenAI <c>ras</c> object.</summary>
    public static (bool? Enabled, RasPatch Patch) FromObject(JsonObject settings, string prefix, string path)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var named = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (string name in Names)
        {
            if (settings.TryGetPropertyValue(prefix + name, out JsonNode? node))
            {
                named[name] = node;
            }
        }

        return Read(named, name => $"{path}{prefix}{name}");
    }

    private static (bool? Enabled, RasPatch Patch) Read(Dictionary<string, JsonNode?> named, Func<string, string> field)
    {
        JsonNode? Get(string name) => named.TryGetValue(name, out JsonNode? node) ? node : null;
        double? Number(string name) => Get(name) is { } n ? JsonFields.AsDouble(n, field(name)) : null;
        int? Integer(string name)
        {
            if (Get(name) is not { } n)
            {
                return null;
            }

            long value = JsonFields.AsLong(n, field(name));
            return value is > int.MaxValue or < int.MinValue ? throw ApiException.BadRequest(field(name), $"must be a 32-bit integer, found {value}") : (int)value;
        }

        string? Text(string name) => Get(name) switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            var other => throw ApiException.BadRequest(field(name), $"must be a string, found {JsonFields.Show(other)}"),
        };

        bool? enabled = Get("enabled") switch
        {
            null => null,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            var other => throw ApiException.BadRequest(field("enabled"), $"must be true or false, found {JsonFields.Show(other)}"),
        };

        var patch = new RasPatch
        {
            SampleRatio = Number("sample_ratio"),
            Metric = Text("metric") is string metric ? Parse(() => RasOptions.ParseMetric(metric), field("metric")) : null,
            HighRatio = Number("high_ratio"),
            StarvationScale = Number("starvation_scale"),
            SchedulerStartStep = Integer("scheduler_start_step"),
            SchedulerEndStep = Integer("scheduler_end_step"),
            ErrorResetSteps = ResetSteps(Get("error_reset_steps"), field("error_reset_steps")),
            SkipNumStep = Integer("skip_num_step"),
            SkipNumStepLength = Integer("skip_num_step_length"),
            Selection = Text("selection") is string selection ? Parse(() => RasOptions.ParseSelection(selection), field("selection")) : null,
            SampleRatioEnd = Number("sample_ratio_end"),
            Dilate = Integer("dilate"),
        };
        Check(patch.SampleRatio, r => r > 0 && r <= 1, "must be in (0, 1]", field("sample_ratio"));
        Check(patch.SampleRatioEnd, r => r > 0 && r <= 1, "must be in (0, 1]", field("sample_ratio_end"));
        Check(patch.HighRatio, r => r >= 0 && r <= 1, "must be in [0, 1]", field("high_ratio"));
        Check(patch.StarvationScale, r => r >= 0, "must be ≥ 0", field("starvation_scale"));
        Check(patch.SchedulerStartStep, s => s >= 1, "must be ≥ 1", field("scheduler_start_step"));
        Check(patch.SchedulerEndStep, s => s >= 1, "must be ≥ 1", field("scheduler_end_step"));
        Check(patch.SkipNumStepLength, s => s >= 0, "must be ≥ 0", field("skip_num_step_length"));
        Check(patch.Dilate, d => d >= 0, "must be ≥ 0", field("dilate"));
        return (enabled, patch);
    }

    /// <summary>The checks that do not depend on the run (step ranges are checked against the steps when the job runs).</summary>
    private static void Check<T>(T? value, Func<T, bool> valid, string rule, string field)
        where T : struct, IFormattable
    {
        if (value is T v && !valid(v))
        {
            throw ApiException.BadRequest(field, $"{rule}, found {v.ToString(null, CultureInfo.InvariantCulture)}");
        }
    }

    /// <summary>A list of steps: a JSON array of integers, or a comma list as the CLI takes it (<c>"12,22"</c>, <c>""</c> for none).</summary>
    private static int[]? ResetSteps(JsonNode? node, string field) => node switch
    {
        null => null,
        JsonArray array => [.. array.Select((n, i) => n is null ? throw ApiException.BadRequest(field, "holds null") : (int)JsonFields.AsLong(n, $"{field}[{i}]"))],
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Parse(() => RasOptions.ParseStepList(v.GetValue<string>()).ToArray(), field),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => [(int)JsonFields.AsLong(v, field)],
        _ => throw ApiException.BadRequest(field, $"must be a list of steps (e.g. [12, 22] or \"12,22\"), found {JsonFields.Show(node)}"),
    };

    private static T Parse<T>(Func<T> parse, string field)
    {
        try
        {
            return parse();
        }
        catch (OptionsException e)
        {
            string problem = e.Message[(e.Option.Length + 2)..];
            throw ApiException.BadRequest(field, problem);
        }
    }

    /// <summary>Formats a value for the capability listing.</summary>
    public static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}

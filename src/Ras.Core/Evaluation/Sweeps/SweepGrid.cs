using System.Globalization;
using System.Text.Json;
using Ras.Data.Shapes;
using Ras.Errors;
using Ras.RegionAdaptive;

namespace Ras.Evaluation.Sweeps;

/// <summary>One configuration of a sweep: a step count and RAS options (dense when RAS is off).</summary>
/// <param name="Steps">Denoising steps.</param>
/// <param name="Ras">RAS options (<see cref="RasOptions.Enabled"/> false: dense).</param>
public sealed record SweepConfig(int Steps, RasOptions Ras)
{
    /// <summary>A stable, readable key of every setting (the resume key and the row's name).</summary>
    public string Name => Ras.Enabled ? $"ras {Steps} steps {SweepGrid.Describe(Ras)}" : $"dense {Steps} steps";

    /// <summary>
    /// The family the frontier is drawn per: <c>dense</c> (the fewer-steps baseline), else the RAS selection mode plus
    /// the ideas beyond the official algorithm that are on (e.g. <c>ras revisit + delta</c>).
    /// </summary>
    public string Family => Ras.Enabled ? SweepGrid.FamilyOf(Ras) : "dense";
}

/// <summary>
/// A sweep definition (<c>ras eval --sweep FILE</c>): which scenes, and a grid of configurations. JSON:
/// <code>
/// { "stream": "validation", "prompts": 100, "seed": 0, "guidance": 4, "reference_steps": 20, "batch_size": 25,
///   "dense_steps": [4, 6, 8],
///   "ras": [ { "steps": [20], "sample_ratio": [0.5, 0.25], "selection": ["official", "revisit"], "error_reset_steps": ["default", ""] } ] }
/// </code>
/// Every <c>ras</c> block is a cartesian product of its lists (a scalar is a list of one); keys are the RAS options'
/// snake_case names (the CLI flags with <c>_</c>), plus <c>steps</c>. <c>error_reset_steps</c> is a comma list, <c>""</c> for none
/// or <c>"default"</c>. <c>stream</c> is <c>validation</c> (tuning) or <c>eval</c> (the held-out prompts <c>ras eval</c> reports on).
/// </summary>
public sealed record SweepGrid
{
    /// <summary>Scene stream: <see cref="ShapeScene.ValidationStream"/> or <see cref="ShapeScene.EvalStream"/>.</summary>
    public ulong Stream { get; init; } = ShapeScene.ValidationStream;

    /// <summary>Prompts (scenes 0..N−1 of the stream).</summary>
    public int Prompts { get; init; } = 100;

    /// <summary>Seed of the scenes and the noise.</summary>
    public ulong Seed { get; init; }

    /// <summary>Guidance scale.</summary>
    public double GuidanceScale { get; init; } = 4.0;

    /// <summary>Steps of the dense reference run (SSIM/PSNR and the FLOP ratio are against it).</summary>
    public int ReferenceSteps { get; init; } = 20;

    /// <summary>Images per generation call.</summary>
    public int BatchSize { get; init; } = 25;

    /// <summary>The configurations, in file order (duplicates removed).</summary>
    public IReadOnlyList<SweepConfig> Configs { get; init; } = [];

    /// <summary>The file text's canonical form (what the resume state is keyed by).</summary>
    public string Canonical { get; init; } = string.Empty;

    private static readonly string[] RasKeys =
    [
        "steps", "sample_ratio", "sample_ratio_end", "metric", "high_ratio", "starvation_scale", "scheduler_start_step", "scheduler_end_step",
        "error_reset_steps", "skip_num_step", "skip_num_step_length", "selection", "dilate",
    ];

    /// <summary>Reads a sweep file.</summary>
    /// <exception cref="ConfigException">Malformed JSON, unknown keys, values of the wrong type or out of range (named).</exception>
    public static SweepGrid Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            throw new ConfigException(path, null, $"cannot be read: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses sweep JSON; <paramref name="name"/> names it in messages.</summary>
    /// <exception cref="ConfigException">As <see cref="Load"/>.</exception>
    public static SweepGrid Parse(string json, string name)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new ConfigException(name, null, $"is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException(name, null, "must be a JSON object");
            }

            foreach (JsonProperty property in root.EnumerateObject())
            {
                if (property.Name is not ("stream" or "prompts" or "seed" or "guidance" or "reference_steps" or "batch_size" or "dense_steps" or "ras" or "comment"))
                {
                    throw new ConfigException(name, property.Name, "is not a sweep setting (stream, prompts, seed, guidance, reference_steps, batch_size, dense_steps, ras, comment)");
                }
            }

            var grid = new SweepGrid
            {
                Stream = String(root, "stream", name) switch
                {
                    null or "validation" => ShapeScene.ValidationStream,
                    "eval" => ShapeScene.EvalStream,
                    var other => throw new ConfigException(name, "stream", $"'{other}' is not validation or eval"),
                },
                Prompts = Int(root, "prompts", name, 1) ?? 100,
                Seed = (ulong)(Int(root, "seed", name, 0) ?? 0),
                GuidanceScale = Number(root, "guidance", name) ?? 4.0,
                ReferenceSteps = Int(root, "reference_steps", name, 1) ?? 20,
                BatchSize = Int(root, "batch_size", name, 1) ?? 25,
                Canonical = JsonSerializer.Serialize(root),
            };

            var configs = new List<SweepConfig>();
            if (root.TryGetProperty("dense_steps", out JsonElement dense))
            {
                configs.AddRange(List(dense, "dense_steps", name).Select(v => new SweepConfig(IntValue(v, "dense_steps", name, 1), new RasOptions())));
            }

            if (root.TryGetProperty("ras", out JsonElement blocks))
            {
                if (blocks.ValueKind != JsonValueKind.Array)
                {
                    throw new ConfigException(name, "ras", "must be a list of grid blocks");
                }

                int index = 0;
                foreach (JsonElement block in blocks.EnumerateArray())
                {
                    configs.AddRange(Expand(block, $"ras[{index++}]", name));
                }
            }

            var distinct = configs.DistinctBy(c => c.Name).ToList();
            if (distinct.Count == 0)
            {
                throw new ConfigException(name, null, "defines no configuration (give dense_steps and/or ras blocks)");
            }

            return grid with { Configs = distinct };
        }
    }

    /// <summary>The RAS settings that identify a configuration, in the CLI's names.</summary>
    public static string Describe(RasOptions ras)
    {
        ArgumentNullException.ThrowIfNull(ras);
        string F(double v) => v.ToString(CultureInfo.InvariantCulture);
        string resets = ras.ErrorResetSteps is null ? "default" : $"\"{string.Join(",", ras.ErrorResetSteps)}\"";
        var parts = new List<string>
        {
            $"ratio {F(ras.SampleRatio)}", $"{(ras.Selection == RasSelectionMode.Revisit ? "revisit" : "official")}", $"metric {RasOptions.MetricName(ras.Metric)}",
            $"high {F(ras.HighRatio)}", $"starvation {F(ras.StarvationScale)}", $"start {(ras.SchedulerStartStep is int s ? s.ToString(CultureInfo.InvariantCulture) : "default")}",
            $"resets {resets}",
        };
        if (ras.SchedulerEndStep is int end)
        {
            parts.Add($"end {end}");
        }

        if (ras.SkipNumStepLength != 0)
        {
            parts.Add($"skip-num-step {ras.SkipNumStep}/{ras.SkipNumStepLength}");
        }

        if (ras.SampleRatioEnd is double r)
        {
            parts.Add($"ratio-end {F(r)}");
        }

        if (ras.Dilate != 0)
        {
            parts.Add($"dilate {ras.Dilate}");
        }

        return string.Join(", ", parts);
    }

    /// <summary>The plot family of a RAS configuration: the selection mode plus the non-official ideas it uses.</summary>
    public static string FamilyOf(RasOptions ras)
    {
        ArgumentNullException.ThrowIfNull(ras);
        var parts = new List<string> { ras.Selection == RasSelectionMode.Revisit ? "ras revisit" : "ras official" };
        if (ras.Metric == RasMetric.Delta)
        {
            parts.Add("delta");
        }

        if (ras.SampleRatioEnd is not null)
        {
            parts.Add("ratio ramp");
        }

        if (ras.Dilate != 0)
        {
            parts.Add("dilate");
        }

        return string.Join(" + ", parts);
    }

    private static IEnumerable<SweepConfig> Expand(JsonElement block, string where, string name)
    {
        if (block.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(name, where, "must be an object of option lists");
        }

        var axes = new List<(string Key, List<JsonElement> Values)>();
        foreach (JsonProperty property in block.EnumerateObject())
        {
            if (!RasKeys.Contains(property.Name))
            {
                throw new ConfigException(name, $"{where}.{property.Name}", $"is not a RAS sweep option ({string.Join(", ", RasKeys)})");
            }

            axes.Add((property.Name, List(property.Value, $"{where}.{property.Name}", name)));
        }

        IEnumerable<Dictionary<string, JsonElement>> combinations = [[]];
        foreach ((string key, List<JsonElement> values) in axes)
        {
            combinations = combinations.SelectMany(c => values.Select(v => new Dictionary<string, JsonElement>(c) { [key] = v })).ToList();
        }

        foreach (Dictionary<string, JsonElement> combination in combinations)
        {
            int steps = combination.TryGetValue("steps", out JsonElement s) ? IntValue(s, $"{where}.steps", name, 1) : 20;
            var ras = new RasOptions { SampleRatio = 0.5 };
            foreach ((string key, JsonElement value) in combination)
            {
                string field = $"{where}.{key}";
                try
                {
                    ras = key switch
                    {
                        "steps" => ras,
                        "sample_ratio" => ras with { SampleRatio = NumberValue(value, field, name) },
                        "sample_ratio_end" => ras with { SampleRatioEnd = NumberValue(value, field, name) },
                        "metric" => ras with { Metric = RasOptions.ParseMetric(StringValue(value, field, name)) },
                        "high_ratio" => ras with { HighRatio = NumberValue(value, field, name) },
                        "starvation_scale" => ras with { StarvationScale = NumberValue(value, field, name) },
                        "scheduler_start_step" => ras with { SchedulerStartStep = IntValue(value, field, name, 1) },
                        "scheduler_end_step" => ras with { SchedulerEndStep = IntValue(value, field, name, 1) },
                        "error_reset_steps" => ras with
                        {
                            ErrorResetSteps = StringValue(value, field, name) is "default" ? null : RasOptions.ParseStepList(StringValue(value, field, name)),
                        },
                        "skip_num_step" => ras with { SkipNumStep = IntValue(value, field, name, int.MinValue) },
                        "skip_num_step_length" => ras with { SkipNumStepLength = IntValue(value, field, name, 0) },
                        "selection" => ras with { Selection = RasOptions.ParseSelection(StringValue(value, field, name)) },
                        "dilate" => ras with { Dilate = IntValue(value, field, name, 0) },
                        _ => throw new ConfigException(name, field, "is not a RAS sweep option"),
                    };
                }
                catch (OptionsException e)
                {
                    throw new ConfigException(name, field, e.Message, e);
                }
            }

            try
            {
                ras.Validate(steps);
            }
            catch (OptionsException e)
            {
                throw new ConfigException(name, where, $"a combination is invalid for {steps} steps: {e.Message}", e);
            }

            yield return new SweepConfig(steps, ras);
        }
    }

    private static List<JsonElement> List(JsonElement value, string field, string name) => value.ValueKind switch
    {
        JsonValueKind.Array when value.GetArrayLength() == 0 => throw new ConfigException(name, field, "is an empty list"),
        JsonValueKind.Array => [.. value.EnumerateArray()],
        _ => [value],
    };

    private static string? String(JsonElement root, string key, string name) =>
        root.TryGetProperty(key, out JsonElement e) ? StringValue(e, key, name) : null;

    private static int? Int(JsonElement root, string key, string name, int min) =>
        root.TryGetProperty(key, out JsonElement e) ? IntValue(e, key, name, min) : null;

    private static double? Number(JsonElement root, string key, string name) =>
        root.TryGetProperty(key, out JsonElement e) ? NumberValue(e, key, name) : null;

    private static string StringValue(JsonElement value, string field, string name) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new ConfigException(name, field, $"must be a string, found {value.ValueKind}");

    private static double NumberValue(JsonElement value, string field, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double d) && double.IsFinite(d)
            ? d : throw new ConfigException(name, field, $"must be a finite number, found {value.GetRawText()}");

    private static int IntValue(JsonElement value, string field, string name, int min) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int i) && i >= min
            ? i : throw new ConfigException(name, field, $"must be an integer ≥ {min}, found {value.GetRawText()}");
}

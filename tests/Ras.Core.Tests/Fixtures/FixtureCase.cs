using System.Text.Json;
using Ras.RegionAdaptive;
using Ras.Tests.TestSupport;
using Xunit.Sdk;

namespace Ras.Tests.Fixtures;

/// <summary>One fixture case folder: its <c>case.json</c> (or <c>cases.json</c>) and paths to its files (read in place, never written).</summary>
public sealed class FixtureCase : IDisposable
{
    private readonly JsonDocument document;

    private FixtureCase(string directory, JsonDocument document)
    {
        Directory = directory;
        this.document = document;
    }

    public string Directory { get; }

    public JsonElement Json => document.RootElement;

    public string Kind => Json.GetProperty("kind").GetString()!;

    /// <summary>Opens <c>&lt;root&gt;/&lt;family&gt;/&lt;caseName&gt;</c>; fails the test clearly when the root is missing.</summary>
    public static FixtureCase Open(string family, string caseName)
    {
        if (caseName == FixtureCaseDiscoverer.MissingRoot)
        {
            throw new XunitException($"fixtures root '{RepositoryPaths.FixturesRoot}' does not exist (set RAS_FIXTURES or place ../shared/fixtures next to the repository)");
        }

        return OpenFolder(Path.Combine(RepositoryPaths.FixturesRoot, family, caseName));
    }

    /// <summary>Opens a case folder anywhere (e.g. a variant of a case assembled in a temp folder).</summary>
    public static FixtureCase OpenFolder(string directory)
    {
        string file = Path.Combine(directory, "case.json");
        return new FixtureCase(directory, JsonDocument.Parse(File.ReadAllBytes(File.Exists(file) ? file : Path.Combine(directory, "cases.json"))));
    }

    public string PathOf(string relative) => Path.Combine(Directory, relative);

    /// <summary>The case's RAS parameters as library options, or null for a dense case.</summary>
    public RasOptions? RasOptions()
    {
        if (!Json.TryGetProperty("ras", out JsonElement ras) || ras.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        return new RasOptions
        {
            SampleRatio = ras.GetProperty("sample_ratio").GetDouble(),
            Metric = ras.GetProperty("metric").GetString() switch
            {
                "std" => RasMetric.Std,
                "l2norm" => RasMetric.L2Norm,
                var other => throw new XunitException($"unknown metric {other}"),
            },
            HighRatio = ras.GetProperty("high_ratio").GetDouble(),
            StarvationScale = ras.GetProperty("starvation_scale").GetDouble(),
            SchedulerStartStep = ras.GetProperty("scheduler_start_step").GetInt32(),
            SchedulerEndStep = ras.GetProperty("scheduler_end_step").GetInt32(),
            ErrorResetSteps = Ras.RegionAdaptive.RasOptions.ParseStepList(ras.GetProperty("error_reset_steps").GetString()!),
            SkipNumStep = ras.GetProperty("skip_num_step").GetInt32(),
            SkipNumStepLength = ras.GetProperty("skip_num_step_length").GetInt32(),
        };
    }

    /// <summary>The RAS parameters as CLI flags (kebab-case, 1:1 with the options).</summary>
    public IEnumerable<string> RasFlags()
    {
        if (!Json.TryGetProperty("ras", out JsonElement ras) || ras.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        foreach (string name in new[] { "sample_ratio", "metric", "high_ratio", "starvation_scale", "scheduler_start_step", "scheduler_end_step", "error_reset_steps", "skip_num_step", "skip_num_step_length" })
        {
            JsonElement value = ras.GetProperty(name);
            yield return "--" + name.Replace('_', '-');
            yield return value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
        }
    }

    public void Dispose() => document.Dispose();
}

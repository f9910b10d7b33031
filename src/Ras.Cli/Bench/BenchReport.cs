using System.Diagnostics;
using System.Text.Json.Serialization;
using TorchSharp;

namespace Ras.Cli.Bench;

/// <summary>One timed sample ratio.</summary>
internal sealed record BenchRow(
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("active_tokens")] int ActiveTokens,
    [property: JsonPropertyName("text_tokens")] int TextTokens,
    [property: JsonPropertyName("median_ms")] double MedianMs,
    [property: JsonPropertyName("samples_ms")] double[] SamplesMs,
    [property: JsonPropertyName("flops")] double Flops,
    [property: JsonPropertyName("ideal_speedup")] double IdealSpeedup,
    [property: JsonPropertyName("speedup")] double Speedup,
    [property: JsonPropertyName("efficiency")] double Efficiency)
{
    /// <summary>How the weights were stored (<c>ras bench --weights</c>): f32, bf16, fp8, q8_0, q4_k, or "as stored" for a --model.</summary>
    [JsonPropertyName("weights")]
    public string Weights { get; init; } = "f32";

    /// <summary>With several weight forms: this row's time ÷ the first form's at the same ratio.</summary>
    [JsonPropertyName("time_vs_first_weights")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TimeVsFirstForm { get; init; }
}

/// <summary>The JSON of <c>ras bench</c> (forward timing).</summary>
internal sealed record BenchReport(
    [property: JsonPropertyName("results")] IReadOnlyList<BenchRow> Results,
    [property: JsonPropertyName("machine")] IReadOnlyDictionary<string, object> Machine,
    [property: JsonPropertyName("config")] IReadOnlyDictionary<string, object> Config);

/// <summary>The JSON of <c>ras bench --steps N</c> (memory of a sampling loop).</summary>
internal sealed record LoopReport(
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("sample_ratio")] double SampleRatio,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("rss_before_bytes")] long RssBeforeBytes,
    [property: JsonPropertyName("rss_after_step_bytes")] IReadOnlyList<long> RssAfterStepBytes,
    [property: JsonPropertyName("peak_rss_after_step_bytes")] IReadOnlyList<long> PeakRssAfterStepBytes,
    [property: JsonPropertyName("peak_rss_bytes")] long PeakRssBytes,
    [property: JsonPropertyName("kv_cache_bytes")] long KeyValueCacheBytes,
    [property: JsonPropertyName("cached_velocity_bytes")] long CachedVelocityBytes,
    [property: JsonPropertyName("tokens_per_step")] IReadOnlyList<int> TokensPerStep,
    [property: JsonPropertyName("machine")] IReadOnlyDictionary<string, object> Machine);

/// <summary>Where a benchmark ran.</summary>
internal static class MachineInfo
{
    public static IReadOnlyDictionary<string, object> Describe() => new Dictionary<string, object>
    {
        ["cpu"] = CpuName(),
        ["threads"] = torch.get_num_threads(),
        ["libtorch"] = torch.__version__,
        ["commit"] = GitCommit(),
    };

    private static string CpuName()
    {
        const string cpuinfo = "/proc/cpuinfo";
        string? line = File.Exists(cpuinfo) ? File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) : null;
        return line is null ? Environment.ProcessorCount + " cores" : $"{line.Split(':', 2)[1].Trim()} ({Environment.ProcessorCount} cores)";
    }

    private static string GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = AppContext.BaseDirectory,
            });
            string text = git!.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? text : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using Ras.Pipelines.Flux;
using Ras.RegionAdaptive;
using Ras.Sampling;

namespace Ras.Pipelines;

/// <summary>
/// The A1111/Forge <c>parameters</c> text ("infotext") of a generated image, written into its PNG by every front end (the
/// CLI and the server share this one builder). Layout, which A1111 clients parse:
/// <list type="number">
/// <item>the prompt;</item>
/// <item><c>Negative prompt: …</c>, left out when the negative prompt is empty (as A1111);</item>
/// <item>one settings line that starts with exactly <c>Steps, Sampler, CFG scale, Seed, Size, Model hash, Model</c>, in that
/// order, none of their values holding a comma (node-sd-webui splits the line on commas and reads values 0–6 by
/// position); then <c>Distilled CFG Scale</c> for models with embedded guidance (Forge's name), then, only when RAS is
/// on, the RAS settings in the order of the A1111 extension's <c>args</c> (<see cref="RasKeys"/>), then image-to-image
/// strength, the scheduler shift and the family's own settings.</item>
/// </list>
/// Numbers are written in invariant culture, shortest round-trip form (<c>0.5</c>, not <c>0.50</c>); values holding a comma,
/// colon or line break are quoted as A1111 quotes them (a JSON string).
/// </summary>
public static class Infotext
{
    /// <summary>The sampler's name as A1111 and Forge call the flow-matching Euler sampler.</summary>
    public const string SamplerName = "Euler";

    /// <summary>The infotext keys of the RAS settings, in the order of <c>alwayson_scripts.RAS.args</c> after <c>enabled</c>.</summary>
    public static IReadOnlyList<string> RasKeys { get; } =
    [
        "RAS sample ratio", "RAS metric", "RAS high ratio", "RAS starvation scale", "RAS scheduler start step", "RAS scheduler end step",
        "RAS error reset steps", "RAS skip num step", "RAS skip num step length", "RAS selection", "RAS sample ratio end", "RAS dilate",
    ];

    /// <summary>The infotext of image <paramref name="image"/> of <paramref name="generation"/>.</summary>
    /// <param name="request">The request as run (its seed, prompts, negative prompt, strength).</param>
    /// <param name="generation">Its result (resolved settings, size).</param>
    /// <param name="image">Index of the image in the generation (prompts × images per prompt).</param>
    /// <param name="guidanceKind">What the model's guidance scale is (<see cref="PipelineDefaults.GuidanceKind"/>).</param>
    /// <param name="model">The model's name and hash.</param>
    public static string For(ImageRequest request, ImageGeneration generation, int image, GuidanceKind guidanceKind, ModelIdentity model)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(generation);
        ArgumentNullException.ThrowIfNull(model);
        ResolvedSettings s = generation.Settings;
        long seed = request.SeedPerImage ? request.Seed + image : request.Seed;
        string prompt = request.Prompts[Math.Min(image / Math.Max(1, request.ImagesPerPrompt), request.Prompts.Count - 1)];
        double cfg = guidanceKind == GuidanceKind.ClassifierFree ? s.GuidanceScale : (s.Extras as FluxExtras)?.TrueCfgScale ?? 1.0;

        var settings = new List<(string Key, string Value)>
        {
            ("Steps", Number(s.Steps)),
            ("Sampler", SamplerName),
            ("CFG scale", Number(cfg)),
            ("Seed", Number(seed)),
            ("Size", $"{Number(generation.Width)}x{Number(generation.Height)}"),
            ("Model hash", model.Hash.Replace(',', ' ')),
            ("Model", model.Name.Replace(',', ' ')),
        };
        if (guidanceKind == GuidanceKind.Embedded)
        {
            settings.Add(("Distilled CFG Scale", Number(s.GuidanceScale)));
        }

        if (s.Ras.Enabled)
        {
            settings.AddRange(RasSettings(s.Ras, s.StepsRun));
        }

        if (request.InitImage is not null)
        {
            settings.Add(("Denoising strength", Number(request.Strength)));
        }

        settings.Add(("Shift", Number(s.Shift)));
        settings.AddRange(s.Extras?.Parameters() ?? []);

        var text = new StringBuilder(prompt);
        if (request.NegativePrompt.Length > 0)
        {
            text.Append("\nNegative prompt: ").Append(request.NegativePrompt);
        }

        text.Append('\n').AppendJoin(", ", settings.Select(p => $"{p.Key}: {Quote(p.Value)}"));
        return text.ToString();
    }

    /// <summary>The RAS settings of a run of <paramref name="steps"/> steps as infotext entries, keys <see cref="RasKeys"/>.</summary>
    public static IEnumerable<(string Key, string Value)> RasSettings(RasOptions ras, int steps)
    {
        ArgumentNullException.ThrowIfNull(ras);
        yield return (RasKeys[0], Number(ras.SampleRatio));
        yield return (RasKeys[1], RasOptions.MetricName(ras.Metric));
        yield return (RasKeys[2], Number(ras.HighRatio));
        yield return (RasKeys[3], Number(ras.StarvationScale));
        yield return (RasKeys[4], Number(ras.ResolveStartStep(steps)));
        yield return (RasKeys[5], Number(ras.ResolveEndStep(steps)));
        yield return (RasKeys[6], string.Join(",", ras.ResolveErrorResetSteps(steps).Select(Number)));
        yield return (RasKeys[7], Number(ras.SkipNumStep));
        yield return (RasKeys[8], Number(ras.SkipNumStepLength));
        yield return (RasKeys[9], ras.Selection == RasSelectionMode.Revisit ? "revisit" : "official");
        if (ras.SampleRatioEnd is double end)
        {
            yield return (RasKeys[10], Number(end));
        }

        if (ras.Dilate != 0)
        {
            yield return (RasKeys[11], Number(ras.Dilate));
        }
    }

    /// <summary>
    /// Splits an infotext into its prompt, negative prompt and settings (A1111's <c>parse_generation_parameters</c> for the
    /// layout <see cref="For"/> writes: quoted values are unquoted). Text without a settings line is all prompt.
    /// </summary>
    public static (string Prompt, string NegativePrompt, IReadOnlyList<KeyValuePair<string, string>> Settings) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Split('\n').ToList();
        var settings = new List<KeyValuePair<string, string>>();
        if (lines.Count > 1 && LooksLikeSettings(lines[^1]))
        {
            settings.AddRange(ParseSettings(lines[^1]));
            lines.RemoveAt(lines.Count - 1);
        }

        int negativeAt = lines.FindIndex(l => l.StartsWith("Negative prompt:", StringComparison.Ordinal));
        if (negativeAt < 0)
        {
            return (string.Join('\n', lines), string.Empty, settings);
        }

        string negative = string.Join('\n', lines.Skip(negativeAt))["Negative prompt:".Length..].TrimStart();
        return (string.Join('\n', lines.Take(negativeAt)), negative, settings);
    }

    private static bool LooksLikeSettings(string line) => line.StartsWith("Steps: ", StringComparison.Ordinal);

    private static IEnumerable<KeyValuePair<string, string>> ParseSettings(string line)
    {
        int at = 0;
        while (at < line.Length)
        {
            int colon = line.IndexOf(": ", at, StringComparison.Ordinal);
            if (colon < 0)
            {
                yield break;
            }

            string key = line[at..colon].Trim();
            int valueAt = colon + 2;
            string value;
            if (valueAt < line.Length && line[valueAt] == '"')
            {
                var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(line[valueAt..]), new JsonReaderOptions { AllowMultipleValues = true });
                reader.Read();
                value = reader.GetString() ?? string.Empty;
                at = valueAt + Encoding.UTF8.GetCharCount(Encoding.UTF8.GetBytes(line[valueAt..]), 0, (int)reader.BytesConsumed);
                int comma = line.IndexOf(',', at);
                at = comma < 0 ? line.Length : comma + 1;
            }
            else
            {
                int comma = line.IndexOf(',', valueAt);
                value = comma < 0 ? line[valueAt..] : line[valueAt..comma];
                at = comma < 0 ? line.Length : comma + 1;
            }

            yield return new KeyValuePair<string, string>(key, value);
        }
    }

    /// <summary>A1111's <c>quote</c>: a value holding a comma, a colon or a line break becomes a JSON string.</summary>
    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",:\n") < 0 ? value : JsonSerializer.Serialize(value, QuoteOptions);

    private static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}

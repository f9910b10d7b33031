using System.Globalization;
using Ras.Sampling;

namespace Ras.Cli.Options;

/// <summary>How a run's guidance is shown in command summaries.</summary>
internal static class GuidanceText
{
    /// <summary>E.g. <c>guidance 7 (CFG on)</c>, <c>guidance 3.5 (embedded)</c>, <c>guidance 3.5 (embedded), true CFG 4</c> or <c>no guidance</c>.</summary>
    public static string Describe(GuidanceKind kind, Guidance guidance) => kind switch
    {
        GuidanceKind.ClassifierFree => string.Create(CultureInfo.InvariantCulture, $"guidance {guidance.CfgScale} (CFG {(guidance.UsesCfg ? "on" : "off")})"),
        GuidanceKind.Embedded => string.Create(CultureInfo.InvariantCulture,
            $"guidance {guidance.Embedded} (embedded){(guidance.UsesCfg ? $", true CFG {guidance.CfgScale}" : string.Empty)}"),
        _ => "no guidance" + (guidance.UsesCfg ? string.Create(CultureInfo.InvariantCulture, $", true CFG {guidance.CfgScale}") : string.Empty),
    };
}

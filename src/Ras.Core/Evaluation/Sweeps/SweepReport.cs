using System.Globalization;
using System.Text;
using System.Text.Json;
using Ras.RegionAdaptive;

namespace Ras.Evaluation.Sweeps;

/// <summary>A sweep's rows as a table, its per-family frontiers, and the frontier configurations as a new sweep file.</summary>
public static class SweepReport
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The rows of each family on its adherence and SSIM frontiers (against FLOPs).</summary>
    public static (ISet<EvalRow> Adherence, ISet<EvalRow> Ssim) Frontiers(IReadOnlyList<EvalRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var adherence = new HashSet<EvalRow>(ReferenceEqualityComparer.Instance);
        var ssim = new HashSet<EvalRow>(ReferenceEqualityComparer.Instance);
        foreach (var family in rows.GroupBy(r => r.Family ?? r.Method))
        {
            var members = family.ToList();
            foreach (int i in ParetoFrontier.Indices([.. members.Select(r => (r.Flops, r.Adherence))]))
            {
                adherence.Add(members[i]);
            }

            foreach (int i in ParetoFrontier.Indices([.. members.Select(r => (r.Flops, r.Ssim ?? 1.0))]))
            {
                ssim.Add(members[i]);
            }
        }

        return (adherence, ssim);
    }

    /// <summary>Markdown, by increasing compute; ◆ marks a row on its family's adherence frontier, ◇ on its SSIM frontier.</summary>
    public static string Markdown(IReadOnlyList<EvalRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var (adherence, ssim) = Frontiers(rows);
        var text = new StringBuilder();
        text.AppendLine("| configuration | family | steps | FLOPs ÷ dense | × fewer FLOPs | adherence | attributes | SSIM | PSNR | seconds | frontier |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (EvalRow r in rows.OrderBy(r => r.Flops).ThenBy(r => r.Name, StringComparer.Ordinal))
        {
            string marks = (adherence.Contains(r) ? "◆" : string.Empty) + (ssim.Contains(r) ? "◇" : string.Empty);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Name ?? r.Method} | {r.Family ?? r.Method} | {r.Steps} | {1 / r.FlopsRatio:0.000} | {r.FlopsRatio:0.00} | {r.Adherence:P1} | {r.AttributeScore:P1} | {(r.Ssim is double s ? s.ToString("0.000", CultureInfo.InvariantCulture) : "1")} | {(r.Psnr is double p ? p.ToString("0.00", CultureInfo.InvariantCulture) : "–")} | {r.Seconds:0.0} | {marks} |");
        }

        return text.ToString();
    }

    /// <summary>
    /// The configurations on any family's frontier (adherence or SSIM) as a sweep file on the held-out stream with
    /// <paramref name="prompts"/> prompts (default 200), so the final comparison is made on prompts the tuning never saw.
    /// </summary>
    public static string CandidatesFile(IReadOnlyList<EvalRow> rows, SweepGrid grid, int prompts = 200)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(grid);
        var (adherence, ssim) = Frontiers(rows);
        var names = rows.Where(r => adherence.Contains(r) || ssim.Contains(r)).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var chosen = grid.Configs.Where(c => names.Contains(c.Name)).ToList();
        var dense = chosen.Where(c => !c.Ras.Enabled).Select(c => c.Steps).Append(grid.ReferenceSteps).Distinct().Order().ToList();
        var blocks = chosen.Where(c => c.Ras.Enabled).Select(Block).ToList();
        var file = new Dictionary<string, object>
        {
            ["comment"] = "frontier candidates of a validation sweep, re-run on held-out prompts",
            ["stream"] = "eval", ["prompts"] = prompts, ["seed"] = grid.Seed, ["guidance"] = grid.GuidanceScale,
            ["reference_steps"] = grid.ReferenceSteps, ["batch_size"] = grid.BatchSize, ["dense_steps"] = dense, ["ras"] = blocks,
        };
        return JsonSerializer.Serialize(file, Indented);
    }

    /// <summary>One configuration as a grid block of scalars.</summary>
    private static Dictionary<string, object> Block(SweepConfig config)
    {
        RasOptions r = config.Ras;
        var block = new Dictionary<string, object>
        {
            ["steps"] = config.Steps, ["sample_ratio"] = r.SampleRatio, ["metric"] = RasOptions.MetricName(r.Metric), ["high_ratio"] = r.HighRatio,
            ["starvation_scale"] = r.StarvationScale, ["selection"] = r.Selection == RasSelectionMode.Revisit ? "revisit" : "official",
            ["error_reset_steps"] = r.ErrorResetSteps is null ? "default" : string.Join(",", r.ErrorResetSteps),
            ["skip_num_step"] = r.SkipNumStep, ["skip_num_step_length"] = r.SkipNumStepLength, ["dilate"] = r.Dilate,
        };
        if (r.SchedulerStartStep is int start)
        {
            block["scheduler_start_step"] = start;
        }

        if (r.SchedulerEndStep is int end)
        {
            block["scheduler_end_step"] = end;
        }

        if (r.SampleRatioEnd is double ratioEnd)
        {
            block["sample_ratio_end"] = ratioEnd;
        }

        return block;
    }
}

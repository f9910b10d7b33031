using System.Globalization;
using System.Text;
using Ras.Errors;
using Ras.IO.Files;

namespace Ras.Training;

/// <summary>
/// The training curve as files for a model card: a CSV of the logged points and a small SVG line chart
/// (loss on a log axis against steps, dashed lines where the learning-rate schedule changed).
/// </summary>
public static class LossCurveFiles
{
    private const int Width = 640;
    private const int Height = 320;
    private const int Left = 60;
    private const int Right = 20;
    private const int Top = 20;
    private const int Bottom = 40;

    /// <summary>Writes <c>loss_curve.csv</c> and <c>loss_curve.svg</c> into <paramref name="folder"/> (atomically each).</summary>
    public static void Write(string folder, IReadOnlyList<LossPoint> curve, IReadOnlyList<ScheduleChange> changes)
    {
        ArgumentNullException.ThrowIfNull(curve);
        ArgumentNullException.ThrowIfNull(changes);
        Directory.CreateDirectory(folder);
        AtomicFile.WriteText(Path.Combine(folder, "loss_curve.csv"), Csv(curve));
        AtomicFile.WriteText(Path.Combine(folder, "loss_curve.svg"), Svg(curve, changes));
    }

    /// <summary>One row per logged point: step, mean loss since the previous point, training hours so far.</summary>
    public static string Csv(IReadOnlyList<LossPoint> curve)
    {
        var text = new StringBuilder("step,loss,hours\n");
        foreach (var point in curve)
        {
            text.Append(CultureInfo.InvariantCulture, $"{point.Step},{point.Loss:0.######},{point.Seconds / 3600:0.###}\n");
        }

        return text.ToString();
    }

    /// <summary>Reads a curve written by <see cref="Csv"/> (a model folder's <c>loss_curve.csv</c>); a missing file is an empty curve.</summary>
    public static IReadOnlyList<LossPoint> ReadCsv(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var points = new List<LossPoint>();
        string[] lines = File.ReadAllLines(path);
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            string[] cells = lines[i].Split(',');
            if (cells.Length != 3
                || !long.TryParse(cells[0], NumberStyles.None, CultureInfo.InvariantCulture, out long step)
                || !double.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double loss)
                || !double.TryParse(cells[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double hours)
                || (points.Count > 0 && step <= points[^1].Step))
            {
                throw new ConfigException(path, $"line {i + 1}", $"expected 'step,loss,hours' with increasing steps, found '{lines[i]}'");
            }

            points.Add(new LossPoint(step, loss, hours * 3600));
        }

        return points;
    }

    /// <summary>The chart; an empty curve gives an empty frame.</summary>
    public static string Svg(IReadOnlyList<LossPoint> curve, IReadOnlyList<ScheduleChange> changes)
    {
        ArgumentNullException.ThrowIfNull(curve);
        ArgumentNullException.ThrowIfNull(changes);
        var points = curve.Where(p => p.Loss > 0 && double.IsFinite(p.Loss)).ToList();
        double maxStep = Math.Max(1, points.Count == 0 ? 1 : points.Max(p => p.Step));
        double logMin = Math.Floor(Math.Log10(points.Count == 0 ? 0.01 : points.Min(p => p.Loss)));
        double logMax = Math.Ceiling(Math.Log10(points.Count == 0 ? 1 : points.Max(p => p.Loss)));
        logMax = Math.Max(logMax, logMin + 1);
        double plotWidth = Width - Left - Right;
        double plotHeight = Height - Top - Bottom;
        double X(double step) => Left + (plotWidth * step / maxStep);
        double Y(double loss) => Top + (plotHeight * (logMax - Math.Log10(loss)) / (logMax - logMin));

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        for (double decade = logMin; decade <= logMax; decade++)
        {
            double y = Y(Math.Pow(10, decade));
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{y:0.#}\" x2=\"{Width - Right}\" y2=\"{y:0.#}\" stroke=\"#ddd\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{Math.Pow(10, decade):0.###}</text>\n");
        }

        double stepTick = NiceTick(maxStep / 6);
        for (double step = 0; step <= maxStep; step += stepTick)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(step):0.#}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{step:0}</text>\n");
        }

        foreach (var change in changes)
        {
            double x = X(change.Step);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x:0.#}\" y1=\"{Top}\" x2=\"{x:0.#}\" y2=\"{Height - Bottom}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 4:0.#}\" y=\"{Top + 12}\" fill=\"#666\">{(change.WarmRestart ? "warm restart" : "schedule")} → {change.ToTotalSteps} steps</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#444\"/>\n");
        if (points.Count > 0)
        {
            svg.Append("<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"");
            svg.AppendJoin(' ', points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.Step):0.#},{Y(p.Loss):0.#}")));
            svg.Append("\"/>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (plotWidth / 2)}\" y=\"{Height - 6}\" text-anchor=\"middle\">optimizer step</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"14\" y=\"{Top + (plotHeight / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {Top + (plotHeight / 2)})\">loss (log)</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static double NiceTick(double raw)
    {
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(raw, 1))));
        double fraction = raw / magnitude;
        return magnitude * (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10);
    }
}

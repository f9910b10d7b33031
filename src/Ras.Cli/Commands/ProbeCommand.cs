using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Ras.Cli.Options;
using Ras.Errors;
using Ras.Evaluation;
using Ras.IO.Files;
using Ras.IO.Images;
using Ras.Pipelines;

namespace Ras.Cli.Commands;

/// <summary><c>ras probe</c>: what a ras-shapes model has learned, one noise level at a time (a training diagnostic).</summary>
internal sealed class ProbeCommand : ICliCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
    private readonly Option<string?> model = new("--model") { Description = "ras-shapes model folder. Default: the built-in model." };
    private readonly Option<int> scenes = new("--scenes") { Description = "Held-out scenes for the error table.", DefaultValueFactory = _ => 128 };
    private readonly Option<ulong> seed = new("--seed") { Description = "Seed of the held-out scenes and the noise.", DefaultValueFactory = _ => 0UL };
    private readonly Option<string> times = new("--times")
    {
        Description = "Noise levels t (0 clean, 1 noise), comma list.",
        DefaultValueFactory = _ => string.Join(',', ShapesProbe.DefaultTimes.Select(t => t.ToString(CultureInfo.InvariantCulture))),
    };
    private readonly Option<string?> json = new("--json") { Description = "Write the error table as JSON here (and as markdown next to it, .md)." };
    private readonly Option<string?> grid = new("--grid") { Description = "Write a PNG: rows = a large yellow square in each of the 9 cells on blue, columns = --times; each cell is the clean image the model implies from noise over the bare background (what it reads from the caption alone)." };
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("probe", "Training diagnostic for a ras-shapes model: prediction error by noise level (shape vs background pixels) and what it draws from the caption alone.")
        {
            model, scenes, seed, times, json, grid,
        };
        compute.AddTo(command);
        return command;
    }

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        var device = compute.Apply(result);
        List<double> levels = SampleRatioList.Parse(result.GetValue(times)!, "times", "noise level");
        int count = result.GetValue(scenes);
        if (count < 1 || levels.Count == 0)
        {
            throw new OptionsException(count < 1 ? "scenes" : "times", count < 1 ? "must be at least 1" : "needs at least one noise level");
        }

        string? jsonPath = result.GetValue(json) is { } given ? OutputPath.Require("json", given) : null;
        string? gridPath = result.GetValue(grid) is { } gridGiven ? OutputPath.RequirePng("grid", gridGiven) : null;
        foreach (string? path in new[] { jsonPath, gridPath })
        {
            if (path is not null)
            {
                AtomicFile.EnsureWritable(path);
            }
        }

        string folder = result.GetValue(model) ?? context.BuiltInModelFolder();
        using var pipeline = ShapesPipeline.Load(folder, device);
        context.Out.WriteLine($"model:    {result.GetValue(model) ?? "ras-shapes (built-in)"}; {count} held-out scenes, seed {result.GetValue(seed)}");
        var rows = ShapesProbe.ErrorByTimestep(pipeline, levels, count, result.GetValue(seed));
        string table = Markdown(rows);
        context.Out.WriteLine();
        context.Out.Write(table);
        if (jsonPath is not null)
        {
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(new { model = folder, scenes = count, seed = result.GetValue(seed), rows }, JsonOptions);
            AtomicFile.Write(jsonPath, s => s.Write(bytes));
            AtomicFile.WriteText(Path.ChangeExtension(jsonPath, ".md"), table);
            context.Out.WriteLine($"wrote:    {jsonPath}, {Path.ChangeExtension(jsonPath, ".md")}");
        }

        if (gridPath is not null)
        {
            var (rgb, width, height) = ShapesProbe.CleanImageGrid(pipeline, ShapesProbe.PositionScenes, levels, result.GetValue(seed));
            string header = string.Join(", ", levels.Select(t => t.ToString(CultureInfo.InvariantCulture)));
            PngWriter.Write(gridPath, rgb, width, height, new Dictionary<string, string>
            {
                ["Comment"] = $"rows: a large yellow square at each cell (reading order) on blue; columns: t = {header}; implied clean image from noise over the bare background",
            });
            context.Out.WriteLine($"wrote:    {gridPath}");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    private static string Markdown(IReadOnlyList<TimestepError> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| t | loss (velocity MSE) | clean-image error, shape pixels | … background pixels | … shape pixels if drawing nothing |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (TimestepError r in rows)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.T:0.00} | {r.Loss:0.0000} | {r.ShapeError:0.0000} | {r.BackgroundError:0.0000} | {r.DrawNothingError:0.0000} |"));
        }

        return text.ToString();
    }
}

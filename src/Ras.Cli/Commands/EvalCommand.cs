using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ras.Cli.Bench;
using Ras.Cli.Options;
using Ras.Errors;
using Ras.Evaluation;
using Ras.Evaluation.Plots;
using Ras.Evaluation.Sweeps;
using Ras.Data.Shapes;
using Ras.IO.Files;
using Ras.IO.Images;
using Ras.Pipelines;

namespace Ras.Cli.Commands;

/// <summary><c>ras eval</c>: what RAS costs in quality on the default model's held-out prompts.</summary>
internal sealed class EvalCommand : ICliCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
    private readonly Option<string?> model = new("--model") { Description = "ras-shapes model folder. Default: the built-in model." };
    private readonly Option<int> prompts = new("--prompts") { Description = "Held-out prompts (scenes of the evaluation stream).", DefaultValueFactory = _ => 200 };
    private readonly Option<ulong> seed = new("--seed") { Description = "Seed of the held-out scenes and the noise.", DefaultValueFactory = _ => 0UL };
    private readonly Option<int> batchSize = new("--batch-size") { Description = "Images per generation call.", DefaultValueFactory = _ => 25 };
    private readonly Option<int> steps = new("--steps") { Description = $"Steps of the dense and RAS rows.", DefaultValueFactory = _ => ShapesPipeline.DefaultSteps };
    private readonly Option<double> guidance = new("--guidance") { Description = $"Guidance scale.", DefaultValueFactory = _ => ShapesPipeline.DefaultGuidance };
    private readonly Option<string> ratios = new("--ratios")
    {
        Description = "RAS sample ratios to evaluate, comma list; each gets an official, a revisit and a fewer-steps row. The dense row, the model's --ras preset and a fewer-steps row of the preset's FLOPs are always there; \"\" runs only those (a quick check of the preset).",
        DefaultValueFactory = _ => "0.75,0.5,0.25",
    };
    private readonly Option<string?> json = new("--json") { Description = "Write the rows as JSON here (and the markdown table next to it, .md)." };
    private static readonly string[] GridColumns = ["dense", "ras 0.5 official", "ras 0.5 revisit", "fewer-steps 0.5"];
    private readonly Option<string?> grid = new("--grid") { Description = "Also write a PNG grid: one row per held-out prompt (the first --grid-prompts), columns ground truth, dense, RAS 0.5 official, RAS 0.5 revisit, fewer-steps of RAS 0.5's compute; and its captions next to it (.txt)." };
    private readonly Option<int> gridPrompts = new("--grid-prompts") { Description = "Rows of the --grid.", DefaultValueFactory = _ => 6 };
    private readonly Option<string?> sweep = new("--sweep")
    {
        Description = "Instead of the fixed rows, evaluate every configuration of a sweep file (JSON: stream validation|eval, prompts, seed, guidance, reference_steps, dense_steps, ras grid blocks; see README). Resumable: finished rows are kept in the cache and reused. With --json: the rows; --plot: adherence and SSIM vs FLOPs with each family's Pareto frontier (SVG and PNG); --candidates: the frontier configurations as a sweep file for the held-out stream.",
    };

    private readonly Option<string?> plot = new("--plot") { Description = "With --sweep: write the plot here (.svg; a .png beside it)." };
    private readonly Option<string?> candidates = new("--candidates") { Description = "With --sweep: write the Pareto-frontier configurations as a sweep file on the held-out (eval) stream." };
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("eval", "Evaluate dense vs RAS (0.75/0.5/0.25, official and revisit selection) vs fewer-steps baselines of equal FLOPs: adherence, PSNR, SSIM, time.")
        {
            model, prompts, seed, batchSize, steps, guidance, ratios, json, grid, gridPrompts, sweep, plot, candidates,
        };
        compute.AddTo(command);
        return command;
    }

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        var device = compute.Apply(result);
        if (result.GetValue(sweep) is string sweepPath)
        {
            return Task.FromResult(RunSweep(result, context, device, sweepPath));
        }

        foreach ((Option option, string name) in new (Option, string)[] { (plot, "plot"), (candidates, "candidates") })
        {
            if (result.GetResult(option) is not null)
            {
                throw new OptionsException(name, "applies to --sweep only");
            }
        }

        var options = new EvalOptions
        {
            Prompts = result.GetValue(prompts),
            Seed = result.GetValue(seed),
            BatchSize = result.GetValue(batchSize),
            Steps = result.GetValue(steps),
            GuidanceScale = result.GetValue(guidance),
            SampleRatios = SampleRatioList.Parse(result.GetValue(ratios)!, "ratios"),
        };

        if (options.Prompts < 1 || options.BatchSize < 1)
        {
            throw new OptionsException(options.Prompts < 1 ? "prompts" : "batch-size", "must be at least 1");
        }

        string? jsonPath = result.GetValue(json) is { } given ? OutputPath.Require("json", given) : null;
        if (jsonPath is not null)
        {
            AtomicFile.EnsureWritable(jsonPath);
        }

        string? gridPath = result.GetValue(grid) is { } gridGiven ? OutputPath.RequirePng("grid", gridGiven) : null;
        if (gridPath is not null)
        {
            AtomicFile.EnsureWritable(gridPath);
        }

        string folder = result.GetValue(model) ?? context.BuiltInModelFolder();
        using var pipeline = ShapesPipeline.Load(folder, device);
        context.Out.WriteLine($"model:    {result.GetValue(model) ?? "ras-shapes (built-in)"}; {options.Prompts} held-out prompts, seed {options.Seed}, {options.Steps} steps, guidance {options.GuidanceScale.ToString(CultureInfo.InvariantCulture)}");
        context.Out.WriteLine($"device:   {ComputeFlags.Describe(device)}");

        var images = new Dictionary<string, IReadOnlyList<byte[]>>();
        var rows = ShapesEvaluation.Run(pipeline, options, new Progress(line => context.Error.WriteLine(line)), images, context.Cancellation);
        if (gridPath is not null)
        {
            int size = pipeline.ImageSize;
            WriteGrid(gridPath, images, options, Math.Min(result.GetValue(gridPrompts), options.Prompts), size);
            context.Out.WriteLine($"wrote:    {gridPath}, {Path.ChangeExtension(gridPath, ".txt")}");
        }
        string table = ShapesEvaluation.Markdown(rows);
        context.Out.WriteLine();
        context.Out.Write(table);
        if (jsonPath is not null)
        {
            var report = new EvalReport(rows, options.Prompts, options.Seed, options.Steps, options.GuidanceScale, folder, MachineInfo.Describe());
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(report, JsonOptions);
            AtomicFile.Write(jsonPath, s => s.Write(bytes));
            AtomicFile.WriteText(Path.ChangeExtension(jsonPath, ".md"), table);
            context.Out.WriteLine($"wrote:    {jsonPath}, {Path.ChangeExtension(jsonPath, ".md")}");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary><c>--sweep</c>: every configuration of the file, resumable; rows, plot and frontier candidates.</summary>
    private int RunSweep(ParseResult result, CliContext context, TorchSharp.torch.Device device, string sweepPath)
    {
        foreach ((Option option, string name) in new (Option, string)[] { (prompts, "prompts"), (seed, "seed"), (batchSize, "batch-size"), (steps, "steps"), (guidance, "guidance"), (ratios, "ratios"), (grid, "grid") })
        {
            if (result.GetResult(option) is { Implicit: false })
            {
                throw new OptionsException(name, "is set by the sweep file with --sweep (its prompts, seed, batch_size, reference_steps, guidance and grid)");
            }
        }

        SweepGrid sweepGrid = SweepGrid.Load(sweepPath);
        string? jsonPath = result.GetValue(json) is { } jsonGiven ? OutputPath.Require("json", jsonGiven) : null;
        string? plotPath = result.GetValue(plot) is { } plotGiven ? OutputPath.Require("plot", plotGiven) : null;
        string? candidatesPath = result.GetValue(candidates) is { } candidatesGiven ? OutputPath.Require("candidates", candidatesGiven) : null;
        if (plotPath is not null && !string.Equals(Path.GetExtension(plotPath), ".svg", StringComparison.OrdinalIgnoreCase))
        {
            throw new OptionsException("plot", $"'{plotPath}': the plot is written as SVG with a PNG beside it; name the file .svg");
        }

        foreach (string? path in new[] { jsonPath, plotPath, plotPath is null ? null : Path.ChangeExtension(plotPath, ".png"), candidatesPath })
        {
            if (path is not null)
            {
                AtomicFile.EnsureWritable(path);
            }
        }

        string folder = result.GetValue(model) ?? context.BuiltInModelFolder();
        using var pipeline = ShapesPipeline.Load(folder, device);
        string state = SweepRunner.StateFolder(sweepGrid, folder);
        string stream = sweepGrid.Stream == ShapeScene.EvalStream ? "held-out (eval)" : "validation";
        context.Out.WriteLine($"sweep:    {sweepPath}: {sweepGrid.Configs.Count} configurations on {sweepGrid.Prompts} {stream} prompts, seed {sweepGrid.Seed}, reference dense {sweepGrid.ReferenceSteps} steps");
        context.Out.WriteLine($"state:    {state} (finished rows are reused; delete it to start over)");
        IReadOnlyList<EvalRow> rows = SweepRunner.Run(pipeline, sweepGrid, state, new Progress(line => context.Error.WriteLine(line)), context.Cancellation);
        string table = SweepReport.Markdown(rows);
        context.Out.WriteLine();
        context.Out.Write(table);
        if (jsonPath is not null)
        {
            var report = new SweepReportFile(rows, sweepGrid.Prompts, stream, sweepGrid.Seed, sweepGrid.ReferenceSteps, sweepGrid.GuidanceScale, folder, MachineInfo.Describe());
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(report, JsonOptions);
            AtomicFile.Write(jsonPath, s => s.Write(bytes));
            AtomicFile.WriteText(Path.ChangeExtension(jsonPath, ".md"), table);
            context.Out.WriteLine($"wrote:    {jsonPath}, {Path.ChangeExtension(jsonPath, ".md")}");
        }

        if (plotPath is not null)
        {
            string title = $"ras-shapes: {sweepGrid.Prompts} {stream} prompts, quality vs transformer compute (dense {sweepGrid.ReferenceSteps} steps = 1)";
            FrontierPlot.Write(plotPath, rows, title);
            context.Out.WriteLine($"wrote:    {plotPath}, {Path.ChangeExtension(plotPath, ".png")}");
        }

        if (candidatesPath is not null)
        {
            AtomicFile.WriteText(candidatesPath, SweepReport.CandidatesFile(rows, sweepGrid));
            context.Out.WriteLine($"wrote:    {candidatesPath}");
        }

        return ExitCodes.Ok;
    }

    private sealed record SweepReportFile(
        [property: JsonPropertyName("rows")] IReadOnlyList<EvalRow> Rows,
        [property: JsonPropertyName("prompts")] int Prompts,
        [property: JsonPropertyName("stream")] string Stream,
        [property: JsonPropertyName("seed")] ulong Seed,
        [property: JsonPropertyName("reference_steps")] int ReferenceSteps,
        [property: JsonPropertyName("guidance")] double Guidance,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("machine")] IReadOnlyDictionary<string, object> Machine);

    /// <summary>Cells of 2× the image size, 4-pixel gaps; columns as <see cref="grid"/>'s description says.</summary>
    private static void WriteGrid(string path, Dictionary<string, IReadOnlyList<byte[]>> images, EvalOptions options, int rows, int size)
    {
        var scenes = Enumerable.Range(0, rows).Select(i => ShapeScene.Sample(options.Seed, ShapeScene.EvalStream, i)).ToList();
        var columns = new List<Func<int, byte[]>>
        {
            i => ShapeRenderer.Render(scenes[i], size).Select(v => (byte)Math.Clamp(Math.Round(v * 255), 0, 255)).ToArray(),
        };
        foreach (string label in GridColumns.Where(images.ContainsKey))
        {
            columns.Add(i => images[label][i]);
        }

        const int scale = 2, gap = 4;
        int cell = size * scale;
        int width = (columns.Count * (cell + gap)) + gap, height = (rows * (cell + gap)) + gap;
        byte[] canvas = Enumerable.Repeat((byte)255, width * height * 3).ToArray();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns.Count; c++)
            {
                byte[] big = ImageTensors.Upscale(columns[c](r), size, size, scale);
                int left = gap + (c * (cell + gap)), top = gap + (r * (cell + gap));
                for (int y = 0; y < cell; y++)
                {
                    Array.Copy(big, y * cell * 3, canvas, (((top + y) * width) + left) * 3, cell * 3);
                }
            }
        }

        PngWriter.Write(path, canvas, width, height, new Dictionary<string, string> { ["Comment"] = "columns: ground truth, dense, RAS 0.5 official, RAS 0.5 revisit, fewer steps (RAS 0.5 compute)" });
        string captions = string.Join("\n", scenes.Select((s, i) => $"{i + 1}. {s.Caption}")) + "\n";
        AtomicFile.WriteText(Path.ChangeExtension(path, ".txt"), captions);
    }

    private sealed record EvalReport(
        [property: JsonPropertyName("rows")] IReadOnlyList<EvalRow> Rows,
        [property: JsonPropertyName("prompts")] int Prompts,
        [property: JsonPropertyName("seed")] ulong Seed,
        [property: JsonPropertyName("steps")] int Steps,
        [property: JsonPropertyName("guidance")] double Guidance,
        [property: JsonPropertyName("model")] string Model,
        [property: JsonPropertyName("machine")] IReadOnlyDictionary<string, object> Machine);

    private sealed class Progress(Action<string> write) : IProgress<string>
    {
        public void Report(string value) => write(value);
    }
}

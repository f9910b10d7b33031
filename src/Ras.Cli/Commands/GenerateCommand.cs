using System.CommandLine;
using System.Globalization;
using Ras.Cli.Options;
using Ras.Cli.Terminal;
using Ras.Errors;
using Ras.IO.Files;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.RegionAdaptive;
using Ras.Sampling;

namespace Ras.Cli.Commands;

/// <summary><c>ras generate</c>: text to PNG, dense by default, RAS with <c>--ras</c> or explicit RAS flags.</summary>
internal sealed class GenerateCommand : ICliCommand
{
    private readonly Argument<string> prompt = new("prompt") { Description = "What to draw." };
    private readonly Option<string?> model = new("--model") { Description = "Model folder. Default: the built-in ras-shapes model (64×64 procedural shapes)." };
    private readonly Option<string> negative = new("--negative-prompt") { Description = "Negative prompt for CFG. Default: empty.", DefaultValueFactory = _ => string.Empty };
    private readonly Option<int?> width = new("--width") { Description = "Width in pixels (ras-shapes: a multiple of 4 up to 64). Default: the model's native size." };
    private readonly Option<int?> height = new("--height") { Description = "Height in pixels. Default: the model's native size." };
    private readonly Option<int?> steps = new("--steps") { Description = $"Denoising steps. Default (ras-shapes): {ShapesPipeline.DefaultSteps}." };
    private readonly Option<double?> guidance = new("--guidance") { Description = $"CFG scale, on when > 1. Default (ras-shapes): {ShapesPipeline.DefaultGuidance.ToString(CultureInfo.InvariantCulture)}." };
    private readonly Option<long?> seed = new("--seed") { Description = "Seed of the initial noise. Default: random (printed)." };
    private readonly Option<int> batch = new("--batch") { Description = "Images of the same prompt; written as OUT-0.png … OUT-(N-1).png. Default: 1.", DefaultValueFactory = _ => 1 };
    private readonly Option<string> output = new("--out") { Description = "PNG to write. Default: out.png.", DefaultValueFactory = _ => "out.png" };
    private readonly Option<bool> useRas = new("--ras") { Description = "Turn RAS on with the model's recommended settings (explicit RAS flags override them)." };
    private readonly Option<string?> heatmap = new("--heatmap") { Description = "Also write a PNG showing, per token, in how many steps it was computed (blue few, red all)." };
    private readonly RasFlags ras = new();
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("generate", "Generate an image from a prompt (default: the built-in ras-shapes model). Dense unless --ras or a RAS flag is given.")
        {
            prompt, model, negative, width, height, steps, guidance, seed, batch, output, useRas, heatmap,
        };
        ras.AddTo(command);
        compute.AddTo(command);
        return command;
    }

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        var device = compute.Apply(result);
        string outPath = result.GetValue(output)!;
        string? heatPath = result.GetValue(heatmap);
        int count = result.GetValue(batch);
        if (count < 1)
        {
            throw new OptionsException("batch", $"must be at least 1, found {count}");
        }

        var outputs = OutputPaths(outPath, count);
        var heatmaps = heatPath is null ? [] : OutputPaths(heatPath, count);
        foreach (string path in outputs.Concat(heatmaps))
        {
            AtomicFile.EnsureWritable(path);
        }

        string? modelDir = result.GetValue(model);
        string modelName = modelDir ?? "ras-shapes (built-in)";
        string folder = modelDir ?? DefaultModel.Folder();
        if (!ShapesPipeline.IsShapesFolder(folder))
        {
            throw new RasInputException($"{folder}: not a model folder this version can generate with (model_index.json must name {ShapesPipeline.ClassName}; SD3 pipelines come with the SD3 text-to-image work)");
        }

        int stepCount = result.GetValue(steps) ?? ShapesPipeline.DefaultSteps;
        RasOptions baseRas = result.GetValue(useRas) ? ShapesPipeline.RecommendedRas : new RasOptions();
        RasOptions rasOptions = ras.Apply(result, baseRas);
        long seedValue = result.GetValue(seed) ?? InitialNoise.NewSeed();
        using var pipeline = ShapesPipeline.Load(folder, device);
        int native = pipeline.Transformer.Config.SampleSize * pipeline.Transformer.Config.PatchSize;
        var request = new ShapesRequest
        {
            Prompts = Enumerable.Repeat(result.GetValue(prompt)!, count).ToList(),
            NegativePrompt = result.GetValue(negative)!,
            Seed = seedValue,
            Steps = stepCount,
            GuidanceScale = result.GetValue(guidance) ?? ShapesPipeline.DefaultGuidance,
            Width = result.GetValue(width) ?? native,
            Height = result.GetValue(height) ?? native,
            Ras = rasOptions,
        };

        context.Out.WriteLine($"model:    {modelName}");
        context.Out.WriteLine($"prompt:   {result.GetValue(prompt)}");
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampler:  {request.Steps} steps, guidance {request.GuidanceScale}, seed {seedValue}, {request.Width}×{request.Height}, batch {count}"));
        context.Out.WriteLine($"RAS:      {RasFlags.Describe(rasOptions, request.Steps)}");
        context.Out.WriteLine($"device:   {ComputeFlags.Describe(device)}");

        ShapesGeneration generation = pipeline.Generate(request, new ProgressBar(context.Error, "generate"), context.Cancellation);
        foreach (string word in generation.UnknownWords.Distinct())
        {
            context.Error.WriteLine($"ras: warning: '{word}' is not in the model's vocabulary; it was mapped to the unknown token");
        }

        if (generation.Truncated)
        {
            context.Error.WriteLine($"ras: warning: the prompt was truncated to {pipeline.Tokenizer.MaxLength} words");
        }

        string parameters = Parameters(request, modelName, count);
        for (int i = 0; i < count; i++)
        {
            PngWriter.Write(outputs[i], generation.Images[i], generation.Width, generation.Height, new Dictionary<string, string> { ["parameters"] = parameters });
            if (heatPath is not null)
            {
                byte[] overlay = ComputeHeatmap.Overlay(generation.Images[i], generation.Width, generation.Height, generation.PatchSize,
                    generation.TokenComputeCounts[i], request.Steps);
                PngWriter.Write(heatmaps[i], ImageTensors.Upscale(overlay, generation.Width, generation.Height, 4), generation.Width * 4, generation.Height * 4,
                    new Dictionary<string, string> { ["parameters"] = parameters, ["Comment"] = "RAS compute heatmap: blue = computed in few steps, red = every step" });
            }
        }

        WriteSummary(context.Out, generation, request, outputs, heatmaps);
        return Task.FromResult(ExitCodes.Ok);
    }

    private static List<string> OutputPaths(string path, int count)
    {
        if (count == 1)
        {
            return [path];
        }

        string extension = Path.GetExtension(path);
        string stem = path[..^extension.Length];
        return Enumerable.Range(0, count).Select(i => $"{stem}-{i}{extension}").ToList();
    }

    /// <summary>A1111/Forge-style <c>parameters</c> text: prompt, negative prompt, then one settings line.</summary>
    private static string Parameters(ShapesRequest request, string modelName, int count) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{request.Prompts[0]}\nNegative prompt: {request.NegativePrompt}\nSteps: {request.Steps}, Sampler: Euler (flow matching), CFG scale: {request.GuidanceScale}, Seed: {request.Seed}, Size: {request.Width}x{request.Height}, Batch: {count}, Model: {modelName}, RAS: {RasFlags.Describe(request.Ras, request.Steps)}");

    private static void WriteSummary(TextWriter o, ShapesGeneration generation, ShapesRequest request, List<string> outputs, List<string> heatmaps)
    {
        int tokens = generation.Width / generation.PatchSize * (generation.Height / generation.PatchSize);
        int sparse = generation.Steps.Count(s => s.Kind == RasStepKind.Sparse);
        long computed = generation.Steps.Sum(s => (long)s.ComputedTokens);
        o.WriteLine($"steps:    {generation.Steps.Count} ({generation.Steps.Count - sparse} dense, {sparse} RAS)");
        o.WriteLine($"tokens:   per step [{string.Join(" ", generation.Steps.Select(s => s.ComputedTokens))}]; {computed}/{(long)tokens * generation.Steps.Count} computed per image");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time:     {generation.Elapsed.TotalSeconds:0.00} s"));
        o.WriteLine($"wrote:    {string.Join(", ", outputs)}");
        if (heatmaps.Count > 0)
        {
            o.WriteLine($"heatmap:  {string.Join(", ", heatmaps)}{(request.Ras.Enabled ? string.Empty : " (RAS is off: every token was computed in every step)")}");
        }
    }
}

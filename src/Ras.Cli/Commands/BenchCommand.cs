using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ras.Cli.Bench;
using Ras.Cli.Options;
using Ras.Errors;
using Ras.IO.Files;
using Ras.Pipelines;
using Ras.RegionAdaptive;
using Ras.Sampling;
using Ras.Schedulers;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Cli.Commands;

/// <summary>
/// <c>ras bench</c>: times one transformer forward, dense and under RAS at several sample ratios, against
/// the FLOP-ideal speedup; or, with <c>--steps</c>, runs a whole sampling loop and reports memory.
/// </summary>
internal sealed class BenchCommand : ICliCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
    private readonly Option<string?> model = new("--model") { Description = "Diffusers pipeline or transformer folder to benchmark." };
    private readonly Option<string?> synthetic = new("--synthetic")
    {
        Description = "Random-weight model instead of --model: " + string.Join("; ", ModelFamilies.SyntheticModels.Select(m => $"{m.Name} ({m.Description})")) + ".",
    };

    private readonly Option<int?> layers = new("--layers")
    {
        Description = "Blocks (double-stream blocks for FLUX.1) of the synthetic model. Default: the real model's (" +
            string.Join(", ", ModelFamilies.SyntheticModels.Select(m => $"{m.Name} {m.DefaultLayers}")) + ").",
    };

    private readonly WeightStorageFlag weightStorage = new("full");
    private readonly Option<string> weights = new("--weights")
    {
        Description = "With --synthetic: how the weights are stored, one form or a comma list timed side by side: f32 (resident, as built), " +
            "bf16, fp8 (F8_E4M3 safetensors), q8_0, q4_k (GGUF); the others are written with random values to a temporary folder and " +
            "loaded as a downloaded file is with --weight-storage stored (upcast or dequantized per block at each forward).",
        DefaultValueFactory = _ => StoredWeights.Resident,
    };
    private readonly Option<int?> singleLayers = new("--single-layers") { Description = "Single-stream blocks of a synthetic FLUX.1 model. Default: the real model's." };
    private readonly Option<int> height = new("--height") { Description = "Image height in pixels (latents are 1/8).", DefaultValueFactory = _ => 1024 };
    private readonly Option<int> width = new("--width") { Description = "Image width in pixels.", DefaultValueFactory = _ => 1024 };
    private readonly Option<int?> textTokens = new("--text-tokens") { Description = "Text tokens per sample. Default: the family's pipeline length (SD3 333 = 77 CLIP + 256 T5, Lumina-Next 256, FLUX.1 512)." };
    private readonly Option<int?> batch = new("--batch") { Description = "Model batch. Default: 2 (one image with CFG) for CFG models, 1 for models without CFG (FLUX.1)." };
    private readonly Option<string> ratios = new("--ratios") { Description = "Sample ratios to time; 1 = dense.", DefaultValueFactory = _ => "1,0.5,0.25,0.125" };
    private readonly Option<int> repeat = new("--repeat") { Description = "Timed forwards per ratio (after one warm-up); the median is reported.", DefaultValueFactory = _ => 3 };
    private readonly Option<string?> json = new("--json") { Description = "Also write the results as JSON to this file." };
    private readonly Option<int?> steps = new("--steps") { Description = "Instead of timing single forwards, run a whole N-step sampling loop (guidance at the family's default: SD3 7, Lumina-Next 4; RAS per the RAS flags) and report resident memory per step and its peak (VmHWM)." };
    private readonly Option<int> seed = new("--seed") { Description = "Seed for weights, inputs and token choices.", DefaultValueFactory = _ => 0 };
    private readonly RasFlags ras = new();
    private readonly ComputeFlags compute = new();

    public Command Build()
    {
        var command = new Command("bench", "Time the transformer dense vs RAS (FLOP-ideal speedup and efficiency), or measure a sampling loop's memory with --steps.")
        {
            model, synthetic, layers, singleLayers, weightStorage.Option, weights, height, width, textTokens, batch, ratios, repeat, json, steps, seed,
        };
        ras.AddTo(command);
        compute.AddTo(command);
        return command;
    }

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        Device device = compute.Apply(result);
        string? jsonPath = result.GetValue(json) is { } given ? OutputPath.Require("json", given) : null;
        if (jsonPath is not null)
        {
            AtomicFile.EnsureWritable(jsonPath);
        }

        int seedValue = result.GetValue(seed);
        torch.manual_seed(seedValue);
        IReadOnlyList<string> forms = StoredWeights.Parse(result.GetValue(weights)!);
        if (result.GetValue(steps) is not null && forms.Count > 1)
        {
            throw new OptionsException("weights", "--steps measures one model: give a single form");
        }

        string scratch = Path.Combine(Path.GetTempPath(), $"ras-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var loaded = new List<(string Form, DenoisingTransformer Transformer, TimeSpan Load)>();
        try
        {
            long loadStart = Stopwatch.GetTimestamp();
            bool templateOnly = !forms.Contains(StoredWeights.Resident) && result.GetValue(model) is null;
            DenoisingTransformer first = LoadModel(result, device, templateOnly, out string modelName);
            loaded.Add((result.GetValue(model) is null ? StoredWeights.Resident : "as stored", first, Stopwatch.GetElapsedTime(loadStart)));
            foreach (string form in forms.Where(f => f != StoredWeights.Resident))
            {
                loadStart = Stopwatch.GetTimestamp();
                loaded.Add((form, StoredWeights.Load(first, form, Path.Combine(scratch, form), seedValue, device), Stopwatch.GetElapsedTime(loadStart)));
            }

            if (templateOnly)
            {
                loaded[0].Transformer.Dispose();
                loaded.RemoveAt(0);
            }

            DenoisingTransformer transformer = loaded[0].Transformer;
            var setup = BenchSetup.Create(transformer.PatchSize, transformer.LatentChannels, result.GetValue(height), result.GetValue(width),
                result.GetValue(textTokens) ?? transformer.DefaultTextTokens, result.GetValue(batch) ?? (transformer.GuidanceKind == GuidanceKind.ClassifierFree ? 2 : 1));
            transformer.CheckLatentSize(setup.LatentHeight, setup.LatentWidth, setup.LatentHeight > setup.LatentWidth ? "height" : "width");
            context.Out.WriteLine($"model:   {modelName}: {transformer.Summary}");
            context.Out.WriteLine($"input:   batch {setup.Batch}, {setup.ImageTokens} image tokens ({setup.Height}×{setup.Width} px), {setup.TextTokens} text tokens");
            context.Out.WriteLine($"device:  {ComputeFlags.Describe(device)}");
            foreach ((string form, _, TimeSpan load) in loaded)
            {
                string how = form switch
                {
                    StoredWeights.Resident => "built with random weights",
                    "as stored" => "built uninitialised, weights read from the checkpoint",
                    _ => "written with random values, loaded kept in that form",
                };
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load:    {load.TotalSeconds:0.00} s{(loaded.Count > 1 ? $" {form}" : string.Empty)} ({how})"));
            }

            object report = result.GetValue(steps) is int loopSteps
                ? RunLoop(transformer, setup, loopSteps, ras.Apply(result, new RasOptions()), device, context)
                : RunForwards([.. loaded.Select(l => (l.Form, l.Transformer))], setup, ParseRatios(result.GetValue(ratios)!), result.GetValue(repeat), device, modelName, seedValue, context);

            if (jsonPath is not null)
            {
                byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(report, JsonOptions);
                AtomicFile.Write(jsonPath, stream => stream.Write(bytes));
                context.Out.WriteLine($"wrote:   {jsonPath}");
            }

            return Task.FromResult(ExitCodes.Ok);
        }
        finally
        {
            foreach ((_, DenoisingTransformer transformer, _) in loaded)
            {
                transformer.Dispose();   // unmaps the stored files before their folder goes
            }

            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private DenoisingTransformer LoadModel(ParseResult result, Device device, bool templateOnly, out string name)
    {
        string? dir = result.GetValue(model);
        string? preset = result.GetValue(synthetic);
        if ((dir is null) == (preset is null))
        {
            throw new OptionsException("model", $"give exactly one of --model DIR or --synthetic {string.Join("|", ModelFamilies.SyntheticModels.Select(m => m.Name))}");
        }

        if (dir is not null)
        {
            foreach ((bool given, string flag) in new[] { (result.GetValue(layers) is not null, "layers"), (result.GetValue(singleLayers) is not null, "single-layers") })
            {
                if (given)
                {
                    throw new OptionsException(flag, "sets the depth of a --synthetic model; a --model folder has its own");
                }
            }

            if (result.GetResult(weights) is { Implicit: false })
            {
                throw new OptionsException("weights", "applies to a --synthetic model; a --model folder's weights are stored as its file stores them (see --weight-storage)");
            }

            name = dir;
            string transformerDir = Directory.Exists(Path.Combine(dir, "transformer")) ? Path.Combine(dir, "transformer") : dir;
            return ModelFamilies.ForTransformerFolder(transformerDir).LoadTransformer(transformerDir, device, storage: weightStorage.Apply(result));
        }

        if (result.GetResult(weightStorage.Option) is { Implicit: false })
        {
            throw new OptionsException("weight-storage", "applies to a --model folder; a --synthetic model is built in float32 (write a packed one with ras synth-pipeline --transformer-weights)");
        }

        SyntheticModel synthesized = ModelFamilies.Synthetic(preset!);
        int depth = result.GetValue(layers) ?? synthesized.DefaultLayers;
        if (depth < 1)
        {
            throw new OptionsException("layers", $"must be at least 1, found {depth}");
        }

        int? single = result.GetValue(singleLayers) ?? synthesized.DefaultSingleLayers;
        if (synthesized.DefaultSingleLayers is null && single is not null)
        {
            throw new OptionsException("single-layers", $"{preset} has no single-stream blocks");
        }

        if (single is < 0)
        {
            throw new OptionsException("single-layers", $"must be at least 0, found {single}");
        }

        name = $"synthetic {preset} (random weights, {depth} layers{(single is int n ? $" + {n} single-stream" : string.Empty)})";
        if (!templateOnly)
        {
            return synthesized.Create(depth, single, device);
        }

        // Only the keys, shapes and config of the stored forms are needed: no memory, no initialisation.
        Device previous = get_default_device();
        set_default_device(META);
        try
        {
            return synthesized.Create(depth, single, META);
        }
        finally
        {
            set_default_device(previous);
        }
    }

    private static BenchReport RunForwards(IReadOnlyList<(string Form, DenoisingTransformer Transformer)> models, BenchSetup setup, double[] sampleRatios, int repeats,
        Device device, string modelName, int seed, CliContext context)
    {
        if (repeats < 1)
        {
            throw new OptionsException("repeat", $"must be at least 1, found {repeats}");
        }

        using var inference = inference_mode();
        DenoisingTransformer template = models[0].Transformer;
        double denseFlops = template.Flops(setup.Batch, setup.ImageTokens, setup.ImageTokens, setup.TextTokens);
        var ordered = sampleRatios.OrderByDescending(r => r).ToArray();
        var cancels = new List<IDisposable>();
        var inputs = new List<BenchInputs>();
        var runners = new List<(string Form, double Ratio, ForwardRunner Runner)>();
        try
        {
            foreach ((string form, DenoisingTransformer transformer) in models)
            {
                cancels.Add(transformer.CancelBetweenBlocks(context.Cancellation));   // a forward can take 20 s: Ctrl+C stops between blocks
                torch.manual_seed(seed);   // every form sees the same inputs and the same active tokens
                var formInputs = new BenchInputs(transformer, setup, device);
                inputs.Add(formInputs);
                foreach (double ratio in ordered)
                {
                    runners.Add((form, ratio, new ForwardRunner(formInputs, setup, setup.ImageTokens - (int)Math.Floor((1 - ratio) * setup.ImageTokens), device)));
                }
            }

            // Side by side: every round times each form and ratio once, so machine noise hits all of them alike.
            var samples = runners.Select(_ => new double[repeats]).ToArray();
            for (int round = -1; round < repeats; round++)
            {
                for (int i = 0; i < runners.Count; i++)
                {
                    context.Cancellation.ThrowIfCancellationRequested();
                    double ms = runners[i].Runner.TimeOne();
                    if (round >= 0)
                    {
                        samples[i][round] = ms;
                    }
                }
            }

            bool several = models.Count > 1;
            var rows = new List<BenchRow>();
            context.Out.WriteLine();
            context.Out.WriteLine((several ? "weights " : string.Empty) + "ratio   active  text   median ms   speedup   ideal   efficiency" + (several ? $"   vs {models[0].Form}" : string.Empty));
            for (int i = 0; i < runners.Count; i++)
            {
                (string form, double ratio, ForwardRunner runner) = runners[i];
                double median = Median(samples[i]);
                double denseMs = Median(samples[runners.FindIndex(r => r.Form == form)]);                       // this form's dense forward
                double firstFormMs = Median(samples[runners.FindIndex(r => r.Form == models[0].Form && r.Ratio == ratio)]);
                double flops = template.Flops(setup.Batch, setup.ImageTokens, runner.Active, setup.TextTokens);
                double ideal = denseFlops / flops;
                double speedup = denseMs / median;
                rows.Add(new BenchRow(ratio, runner.Active, setup.TextTokens, median, samples[i], flops, ideal, speedup, speedup / ideal)
                {
                    Weights = form, TimeVsFirstForm = several ? median / firstFormMs : null,
                });
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(several ? $"{form,-8}" : string.Empty)}{ratio,-7} {runner.Active,6} {setup.TextTokens,5} {median,11:0.0} {speedup,9:0.00} {ideal,7:0.00} {speedup / ideal,12:0.00}{(several ? $" {median / firstFormMs,8:0.00}×" : string.Empty)}"));
            }

            var config = new Dictionary<string, object>(template.ConfigFacts) { ["model"] = modelName };
            return new BenchReport(rows, MachineInfo.Describe(), new Dictionary<string, object>(config)
            {
                ["height"] = setup.Height, ["width"] = setup.Width,
                ["image_tokens"] = setup.ImageTokens, ["text_tokens"] = setup.TextTokens, ["batch"] = setup.Batch, ["repeat"] = repeats,
                ["weights"] = models.Select(m => m.Form).ToArray(),
                ["flops_counted"] = "linear layers, patch embedding, attention QK^T and AV; 2 FLOPs per multiply-add",
                ["timing"] = "median of --repeat rounds; each round times every weight form and ratio once (side by side, heap trimmed before each forward as in sampling), after one untimed warm-up round",
            });
        }
        finally
        {
            foreach ((_, _, ForwardRunner runner) in runners)
            {
                runner.Dispose();
            }

            foreach (IDisposable owned in inputs.Cast<IDisposable>().Concat(cancels))
            {
                owned.Dispose();
            }
        }
    }

    /// <summary>Times forwards at one ratio; a RAS runner keeps its own K/V caches, filled by a dense forward.</summary>
    private sealed class ForwardRunner : IDisposable
    {
        private readonly BenchInputs inputs;
        private readonly KeyValueCaches caches = new();
        private readonly Tensor? index;
        private readonly RasRouting? routing;

        public ForwardRunner(BenchInputs inputs, BenchSetup setup, int active, Device device)
        {
            this.inputs = inputs;
            Active = active;
            if (active < setup.ImageTokens)
            {
                index = setup.RandomActiveTokens(active, device);
                routing = new RasRouting(caches, index, setup.ImageTokens);
                using var fill = NewDisposeScope();
                using var refill = new RasRouting(caches, index: null, setup.ImageTokens);
                inputs.Forward(refill);
            }
        }

        public int Active { get; }

        public double TimeOne()
        {
            // Start from a trimmed heap, as every sampler step does, so no forward inherits another's free pages.
            Ras.Native.NativeHeap.Trim();
            using var scope = NewDisposeScope();
            long start = Stopwatch.GetTimestamp();
            inputs.Forward(routing);
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        public void Dispose()
        {
            routing?.Dispose();
            index?.Dispose();
            caches.Dispose();
        }
    }

    private static LoopReport RunLoop(DenoisingTransformer transformer, BenchSetup setup, int loopSteps, RasOptions rasOptions, Device device, CliContext context)
    {
        Guidance guidance = Guidance.For(transformer.GuidanceKind, transformer.DefaultGuidance);
        int copies = guidance.UsesCfg ? 2 : 1;
        if (setup.Batch % copies != 0)
        {
            throw new OptionsException("batch", "with --steps the model batch is images × 2 (CFG), so it must be even");
        }

        int images = setup.Batch / copies;
        var sampler = new SamplerOptions { Steps = loopSteps, CfgScale = guidance.CfgScale };
        var scheduler = new FlowMatchEulerDiscreteScheduler(transformer.StandardScheduler);
        Dictionary<string, Tensor> conditioningTensors = transformer.RandomConditioning(images, setup.TextTokens, negative: guidance.UsesCfg, device);
        (IDenoiser denoiser, IDisposable owner) = transformer.Bind(ConditioningInputs.FromTensors(conditioningTensors, "random conditioning"), images, guidance, device);
        using var conditioning = owner;
        foreach (Tensor t in conditioningTensors.Values)
        {
            t.Dispose();
        }

        using Tensor latents = randn([images, setup.InChannels, setup.LatentHeight, setup.LatentWidth], device: device);
        using var cancel = transformer.CancelBetweenBlocks(context.Cancellation);
        using var session = new RasSession(rasOptions);
        long before = ProcessMemory.ResidentBytes();
        var rss = new List<long>();
        var peaks = new List<long>();
        var progress = new Progress(p =>
        {
            rss.Add(ProcessMemory.ResidentBytes());
            peaks.Add(ProcessMemory.PeakResidentBytes());
        }, new Terminal.ProgressBar(context.Error, "bench"));
        context.Out.WriteLine($"loop:    {loopSteps} steps, {GuidanceText.Describe(transformer.GuidanceKind, guidance)}, {images} image(s); RAS {RasFlags.Describe(rasOptions, loopSteps)}");
        var clock = Stopwatch.StartNew();
        FlowMatchSchedule schedule = transformer.Schedule(scheduler, loopSteps, setup.ImageTokens);
        using (Tensor final = FlowMatchEulerSampler.Sample(denoiser, schedule, latents, sampler, session, progress, context.Cancellation))
        {
        }

        clock.Stop();
        long peak = ProcessMemory.PeakResidentBytes();
        double mib = 1024 * 1024;
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time:    {clock.Elapsed.TotalSeconds:0.0} s ({clock.Elapsed.TotalSeconds / loopSteps:0.00} s/step)"));
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rss:     before loop {before / mib:0} MiB; after each step [{string.Join(" ", rss.Select(r => (r / mib).ToString("0", CultureInfo.InvariantCulture)))}] MiB"));
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak:    VmHWM after each step [{string.Join(" ", peaks.Select(r => (r / mib).ToString("0", CultureInfo.InvariantCulture)))}] MiB"));
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak:    VmHWM {peak / mib:0} MiB; K/V caches {session.KeyValueCacheBytes / mib:0.0} MiB, cached velocity {session.CachedVelocityBytes / mib:0.00} MiB"));
        return new LoopReport(loopSteps, rasOptions.SampleRatio, clock.Elapsed.TotalSeconds, before, rss, peaks, peak, session.KeyValueCacheBytes, session.CachedVelocityBytes,
            session.Records.Select(r => r.ComputedTokens).ToList(), MachineInfo.Describe());
    }

    private static double[] ParseRatios(string text)
    {
        List<double> values = SampleRatioList.Parse(text, "ratios");
        if (!values.Contains(1.0))
        {
            values.Add(1.0); // speedups are relative to the dense forward
        }

        return [.. values];
    }

    private static double Median(double[] samples)
    {
        double[] sorted = [.. samples.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private sealed class Progress(Action<SamplerProgress> record, IProgress<SamplerProgress> bar) : IProgress<SamplerProgress>
    {
        public void Report(SamplerProgress value)
        {
            record(value);
            bar.Report(value);
        }
    }
}

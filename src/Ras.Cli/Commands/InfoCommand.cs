using System.CommandLine;
using System.Globalization;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.Native;
using Ras.Pipelines;
using Ras.Schedulers;

namespace Ras.Cli.Commands;

/// <summary><c>ras info</c>: what a model folder holds, read from its config and weight headers (nothing is loaded).</summary>
internal sealed class InfoCommand : ICliCommand
{
    private readonly Option<string?> model = new("--model") { Description = "Diffusers pipeline folder (with transformer/) or a transformer folder: SD3Transformer2DModel, FluxTransformer2DModel or LuminaNextDiT2DModel. Default: the built-in ras-shapes model." };

    public Command Build() => new("info", "Describe a model: architecture, parameter count, stored dtypes, config summary.") { model };

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        string dir = result.GetValue(model) ?? context.BuiltInModelFolder();
        bool isPipeline = File.Exists(Path.Combine(dir, "transformer", "config.json"));
        string transformerDir = isPipeline ? Path.Combine(dir, "transformer") : dir;
        if (!File.Exists(Path.Combine(transformerDir, "config.json")))
        {
            throw new RasInputException($"{dir}: no transformer config found (expected transformer/config.json or config.json)");
        }

        // Latent models draw 8 pixels per latent (their VAE); ras-shapes works on pixels.
        string pipelineDir = isPipeline ? dir : Path.GetDirectoryName(Path.GetFullPath(transformerDir)) ?? dir;
        bool pixelSpace = ModelFamilies.TryForPipelineFolder(pipelineDir)?.PixelSpace == true;
        int pixelsPerSample = pixelSpace ? 1 : 8;

        // The config is read (and checked) before the weights' headers.
        string configPath = Path.Combine(transformerDir, "config.json");
        ModelFamily family = ModelFamilies.ForTransformerFolder(transformerDir);
        var description = family.DescribeTransformer(configPath, pixelsPerSample).ToList();
        using var store = TensorStore.OpenComponent(transformerDir);
        var entries = store.Keys.Select(store.Entry).ToList();

        // Parameters as model.parameters() counts them (model cards do too); stored buffers (SD3's position table) are listed apart.
        var buffers = store.Keys.Where(family.TransformerBufferKeys.Contains).ToList();
        long bufferValues = buffers.Sum(k => store.Entry(k).ElementCount);
        long parameters = entries.Sum(e => e.ElementCount) - bufferValues;
        long bytes = entries.Sum(e => e.ByteLength);
        string dtypes = string.Join(", ", entries.GroupBy(e => e.DType).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} ×{g.Count()}"));
        TextWriter o = context.Out;
        o.WriteLine($"transformer:   {transformerDir}");
        o.WriteLine(pixelSpace ? "space:         pixels (ras-shapes pipeline, no VAE)" : "space:         latents (VAE, 8 pixels per latent)");
        foreach ((string label, string text) in description)
        {
            o.WriteLine($"{label + ":",-15}{text}");
        }

        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameters:    {parameters:N0} ({parameters / 1e9:0.000} B) in {entries.Count - buffers.Count} tensors"));
        if (buffers.Count > 0)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"buffers:       {bufferValues:N0} values in {string.Join(", ", buffers)} (stored, not trained; not counted above)"));
        }

        long values = parameters + bufferValues;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stored:        {dtypes}; {bytes / 1048576.0:0.0} MiB on disk; {values * 4 / 1048576.0:0.0} MiB as float32"));
        string schedulerConfig = Path.Combine(dir, "scheduler", "scheduler_config.json");
        if (File.Exists(schedulerConfig))
        {
            var scheduler = FlowMatchEulerDiscreteSchedulerConfig.Load(schedulerConfig);
            string shift = scheduler.UseDynamicShifting
                ? string.Create(CultureInfo.InvariantCulture, $"use_dynamic_shifting (μ from the token count: {scheduler.BaseShift} at {scheduler.BaseImageSeqLen} … {scheduler.MaxShift} at {scheduler.MaxImageSeqLen})")
                : string.Create(CultureInfo.InvariantCulture, $"shift {scheduler.Shift}");
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scheduler:     {FlowMatchEulerDiscreteSchedulerConfig.ClassName}, {shift}, {scheduler.NumTrainTimesteps} train timesteps"));
        }

        o.WriteLine($"native:        {TorchNative.Status}; malloc mmap threshold {(NativeHeap.Configured ? $"fixed at {NativeHeap.MmapThresholdBytes >> 20} MiB" : "left alone")}");
        return Task.FromResult(ExitCodes.Ok);
    }
}

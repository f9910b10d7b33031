using System.CommandLine;
using System.Globalization;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Gguf;
using Ras.Native;
using Ras.Pipelines;
using Ras.Schedulers;

namespace Ras.Cli.Commands;

/// <summary><c>ras info</c>: what a model folder holds, read from its config and weight headers (nothing is loaded).</summary>
internal sealed class InfoCommand : ICliCommand
{
    private readonly Option<string?> model = new("--model") { Description = "Diffusers pipeline folder (with transformer/), a transformer folder (SD3Transformer2DModel, FluxTransformer2DModel or LuminaNextDiT2DModel), or a single checkpoint file (.safetensors of any dtype, fp8 included, or .gguf). Default: the built-in ras-shapes model." };

    /// <summary>Metadata pairs listed for a single file before the rest are counted.</summary>
    private const int MetadataShown = 24;

    public Command Build() => new("info", "Describe a model: architecture, parameter count, stored dtypes, config summary.") { model };

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        string dir = result.GetValue(model) ?? context.BuiltInModelFolder();
        if (File.Exists(dir))
        {
            DescribeFile(dir, context.Out);
            return Task.FromResult(ExitCodes.Ok);
        }

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
        var entries = store.StoredKeys.Select(store.Describe).ToList();

        // Parameters as model.parameters() counts them (model cards do too); stored buffers (SD3's position table) are listed apart.
        var buffers = entries.Where(e => family.TransformerBufferKeys.Contains(e.Name)).ToList();
        long bufferValues = buffers.Sum(e => e.ElementCount);
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
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"buffers:       {bufferValues:N0} values in {string.Join(", ", buffers.Select(e => e.Name))} (stored, not trained; not counted above)"));
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

    /// <summary>A single checkpoint file: format, detected family, tensor types with counts and bytes, metadata (truncated).</summary>
    private static void DescribeFile(string path, TextWriter o)
    {
        using var store = TensorStore.OpenFile(path);
        GgufFile? gguf = store.Gguf;
        string family;
        try
        {
            family = ModelFamilies.ForSingleFile(store, path).Name;
        }
        catch (RasInputException e)
        {
            family = "none recognised (" + e.Message[(path.Length + 2)..] + ")";
        }

        var entries = store.StoredKeys.Select(store.Describe).ToList();
        long parameters = entries.Sum(e => e.ElementCount);
        long bytes = entries.Sum(e => e.ByteLength);
        o.WriteLine($"file:          {path}");
        o.WriteLine(gguf is null
            ? "format:        safetensors"
            : string.Create(CultureInfo.InvariantCulture, $"format:        GGUF v{gguf.Version} (alignment {gguf.Alignment}, data from byte {gguf.DataOffset})"));
        o.WriteLine($"family:        {family}");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameters:    {parameters:N0} ({parameters / 1e9:0.000} B) in {entries.Count} tensors; {bytes / 1048576.0:0.0} MiB on disk, {parameters * 4 / 1048576.0:0.0} MiB as float32"));
        foreach (var group in entries.GroupBy(e => e.Format).OrderByDescending(g => g.Sum(e => e.ByteLength)))
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {group.Key,-9}{group.Count(),6} tensors {group.Sum(e => e.ElementCount),16:N0} values {group.Sum(e => e.ByteLength) / 1048576.0,10:0.00} MiB"));
        }

        if (store.AppliedScales.Count > 0)
        {
            o.WriteLine($"scaled fp8:    {store.AppliedScales.Count} weights have a .scale_weight; loaders use weight × scale (ras convert keeps the scales unless --apply-scales)");
        }

        var metadata = gguf is not null
            ? gguf.Metadata.Select(kv => (kv.Key, Type: kv.Value.Type == GgufValueType.Array ? "ARRAY" : kv.Value.Type.ToString().ToUpperInvariant(), Text: kv.Value.Display(72))).ToList()
            : store.SafetensorsMetadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => (kv.Key, Type: "string", Text: Shorten(kv.Value.Replace("\n", " ", StringComparison.Ordinal), 72))).ToList();
        o.WriteLine($"metadata:      {metadata.Count} {(gguf is null ? "__metadata__ strings" : "key/value pairs")}");
        foreach (var (key, type, text) in metadata.Take(MetadataShown))
        {
            o.WriteLine($"  {Shorten(key, 48)} ({type}) = {text}");
        }

        if (metadata.Count > MetadataShown)
        {
            o.WriteLine($"  … {metadata.Count - MetadataShown} more");
        }
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}

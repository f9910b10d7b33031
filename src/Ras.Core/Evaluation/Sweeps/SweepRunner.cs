using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ras.Data.Shapes;
using Ras.IO.Files;
using Ras.Pipelines;
using Ras.RegionAdaptive;

namespace Ras.Evaluation.Sweeps;

/// <summary>
/// Runs a <see cref="SweepGrid"/> on the default model: every configuration on the same scenes and noise, scored like
/// <c>ras eval</c> (adherence, attributes, PSNR/SSIM against the dense run at the reference step count, FLOPs counted from
/// the layers run, wall time). Resumable: the dense reference images and each finished row are kept in a state folder (in
/// the cache, keyed by the sweep, the model and the scenes), so an interrupted sweep continues where it stopped.
/// </summary>
public static class SweepRunner
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The state folder of <paramref name="grid"/> on the model in <paramref name="modelFolder"/> (under the cache).</summary>
    public static string StateFolder(SweepGrid grid, string modelFolder)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(modelFolder);
        string scenes = $"{grid.Stream}/{grid.Prompts}/{grid.Seed}/{grid.GuidanceScale}/{grid.ReferenceSteps}/{grid.BatchSize}";
        return UserCache.CreateFolder(Path.Combine("sweeps", Hash($"{Path.GetFullPath(modelFolder)}|{ModelStamp(modelFolder)}|{scenes}"))).Folder;
    }

    /// <summary>
    /// Runs every configuration not yet in <paramref name="stateFolder"/> and returns all rows: the reference (dense at
    /// <see cref="SweepGrid.ReferenceSteps"/>) first, then the configurations in grid order. <paramref name="progress"/> gets a
    /// line per row (<c>(cached)</c> for rows read back).
    /// </summary>
    public static IReadOnlyList<EvalRow> Run(ShapesPipeline pipeline, SweepGrid grid, string stateFolder, IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(stateFolder);
        Directory.CreateDirectory(Path.Combine(stateFolder, "rows"));
        var scenes = Enumerable.Range(0, grid.Prompts).Select(i => ShapeScene.Sample(grid.Seed, grid.Stream, i)).ToList();

        // Untimed warm-up, so the first configuration is not charged for libtorch's first calls.
        pipeline.Generate(new ShapesRequest { Prompts = [scenes[0].Caption], Seed = (long)grid.Seed, Steps = 2, GuidanceScale = grid.GuidanceScale }, null, cancellationToken);

        var reference = new SweepConfig(grid.ReferenceSteps, new RasOptions());
        (EvalRow referenceRow, List<byte[]> referenceImages) = Reference(pipeline, grid, scenes, stateFolder, cancellationToken);
        progress?.Report(Line(referenceRow, cached: false));
        var rows = new List<EvalRow> { referenceRow };
        foreach (SweepConfig config in grid.Configs.Where(c => c.Name != reference.Name))
        {
            cancellationToken.ThrowIfCancellationRequested();
            string file = Path.Combine(stateFolder, "rows", Hash(config.Name) + ".json");
            if (File.Exists(file))
            {
                EvalRow cached = JsonSerializer.Deserialize<EvalRow>(File.ReadAllBytes(file))!;
                rows.Add(cached);
                progress?.Report(Line(cached, cached: true));
                continue;
            }

            var (images, seconds, flops, _) = ShapesEvaluation.Generate(pipeline, scenes, grid.Seed, grid.BatchSize, grid.GuidanceScale, config.Steps,
                config.Ras, cancellationToken);
            EvalRow row = ShapesEvaluation.Score(config.Ras.Enabled ? "ras" : "dense", config.Ras.Enabled ? Selection(config.Ras) : null,
                config.Ras.Enabled ? config.Ras.SampleRatio : null, null, config.Steps, scenes, images, referenceImages, seconds, referenceRow.Seconds, flops, pipeline)
                with { FlopsRatio = referenceRow.Flops / flops, Name = config.Name, Family = config.Family };
            byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(row, Json);
            AtomicFile.Write(file, s => s.Write(bytes));
            rows.Add(row);
            progress?.Report(Line(row, cached: false));
        }

        return rows;
    }

    /// <summary>The dense reference run: images and row, from the state folder when a previous run made them.</summary>
    private static (EvalRow Row, List<byte[]> Images) Reference(ShapesPipeline pipeline, SweepGrid grid, List<ShapeScene> scenes, string stateFolder,
        CancellationToken cancellationToken)
    {
        string rowFile = Path.Combine(stateFolder, "reference.json");
        string imageFile = Path.Combine(stateFolder, "reference.bin");
        int size = pipeline.ImageSize * pipeline.ImageSize * 3;
        if (File.Exists(rowFile) && File.Exists(imageFile) && new FileInfo(imageFile).Length == (long)size * scenes.Count)
        {
            byte[] all = File.ReadAllBytes(imageFile);
            var images = Enumerable.Range(0, scenes.Count).Select(i => all.AsSpan(i * size, size).ToArray()).ToList();
            return (JsonSerializer.Deserialize<EvalRow>(File.ReadAllBytes(rowFile))!, images);
        }

        var (referenceImages, seconds, flops, _) = ShapesEvaluation.Generate(pipeline, scenes, grid.Seed, grid.BatchSize, grid.GuidanceScale, grid.ReferenceSteps,
            new RasOptions(), cancellationToken);
        var config = new SweepConfig(grid.ReferenceSteps, new RasOptions());
        EvalRow row = ShapesEvaluation.Score("dense", null, null, null, grid.ReferenceSteps, scenes, referenceImages, null, seconds, seconds, flops, pipeline)
            with { Name = config.Name, Family = config.Family };
        AtomicFile.Write(imageFile, s => referenceImages.ForEach(image => s.Write(image)));
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(row, Json);
        AtomicFile.Write(rowFile, s => s.Write(bytes));
        return (row, referenceImages);
    }

    private static string Selection(RasOptions ras) => ras.Selection == RasSelectionMode.Revisit ? "revisit" : "official";

    private static string Line(EvalRow r, bool cached) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{r.Name}: {r.FlopsRatio:0.00}× fewer FLOPs, adherence {r.Adherence:P1}, SSIM {r.Ssim ?? 1:0.000}, {r.Seconds:0.0} s{(cached ? " (cached)" : string.Empty)}");

    /// <summary>The model's weights' sizes and times, so retrained weights do not reuse another model's rows.</summary>
    private static string ModelStamp(string folder) =>
        string.Join(";", Directory.EnumerateFiles(folder, "*.safetensors", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(folder, f)}:{new FileInfo(f).Length}:{File.GetLastWriteTimeUtc(f).Ticks}"));

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();
}

using System.Globalization;
using Ras.IO.Images;
using Ras.Pipelines;
using Ras.Tests.TestSupport;
using TorchSharp;
using Xunit.Abstractions;

namespace Ras.Cli.Tests.Pipelines;

/// <summary>
/// Issue 16, item 7: many generations in one process through the library (the built-in model; sizes 32–64, batch 1–4, RAS
/// on and off, image-to-image), then through the CLI. The live-tensor count returns to its baseline after every image,
/// no temp file is left, and resident memory after image 20 and after the last differ by less than 5 %.
/// <c>dotnet test</c> runs a short soak (the RSS bound needs the long one); <c>bench/soak.sh</c> sets
/// <c>RAS_SOAK_IMAGES=200</c> and <c>RAS_SOAK_CLI=50</c>.
/// </summary>
[Trait("Category", "Soak")]
[Collection(nameof(LiveTensorCount))]
public sealed class SoakTests(ITestOutputHelper log) : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Library_generations_return_to_the_tensor_baseline_and_hold_memory_flat()
    {
        int images = Setting("RAS_SOAK_IMAGES", 24);
        using var pipeline = ShapesPipeline.Load(BuiltInModel.Unpack().Folder);
        var random = new Random(16);
        await pipeline.GenerateAsync(new ImageRequest { Prompts = ["a red circle"], Steps = 2, Seed = 1 });   // lazily built state
        long baseline = torch.Tensor.TotalCount;
        string[] tempBefore = TempFiles();
        long rssAt20 = 0, rss = 0;
        for (int made = 0; made < images;)
        {
            int batch = random.Next(1, 5);
            int size = 32 + (4 * random.Next(0, 9));
            bool ras = random.Next(2) == 0;
            bool img2img = random.Next(4) == 0;
            var request = new ImageRequest
            {
                Prompts = ["a small red circle at the center on a blue background"], ImagesPerPrompt = batch, Seed = made, Steps = 8 + random.Next(0, 13),
                Width = size, Height = size, Ras = ras ? ShapesPipeline.RecommendedRas : new(),
                InitImage = img2img ? Noise(random, size) : null, Strength = 0.7,
            };
            ImageGeneration result = await pipeline.GenerateAsync(request);
            Assert.Equal(batch, result.Images.Count);
            Assert.Equal(baseline, torch.Tensor.TotalCount);
            int before = made;
            made += batch;
            rss = Rss();
            if (before < 20 && made >= 20)
            {
                rssAt20 = rss;
            }
        }

        Assert.Equal(tempBefore, TempFiles());
        double change = 100.0 * (rss - rssAt20) / rssAt20;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"library: {images} images, live tensors {baseline} before and after, RSS after image 20 {rssAt20 / 1048576.0:0.0} MiB, at the end {rss / 1048576.0:0.0} MiB ({change:+0.0;-0.0} %)"));
        if (images >= 200)
        {
            Assert.True(Math.Abs(change) < 5, $"resident memory changed {change:0.0} % between image 20 and image {images}");
        }
    }

    [Fact]
    public void Cli_generations_leave_only_their_outputs()
    {
        int runs = Setting("RAS_SOAK_CLI", 3);
        string[] tempBefore = TempFiles();
        for (int i = 0; i < runs; i++)
        {
            string output = temp.File($"out-{i}.png");
            string[] args = ["generate", "a blue square", "--steps", "6", "--seed", $"{i}", "--batch", $"{1 + (i % 3)}", "--out", output, .. i % 2 == 0 ? ["--ras"] : Array.Empty<string>()];
            using RasProcess run = RasProcess.Run(args);
            Assert.True(run.ExitCode == 0, run.Error);
        }

        Assert.Equal(tempBefore, TempFiles());
        Assert.DoesNotContain(Directory.GetFiles(temp.Path), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        log.WriteLine($"cli: {runs} runs, no temp file left");
    }

    private static RgbImage Noise(Random random, int size)
    {
        var rgb = new byte[size * size * 3];
        random.NextBytes(rgb);
        return new RgbImage(rgb, size, size);
    }

    /// <summary>Our temp files (atomic writes end in <c>.tmp</c>) in the system temp folder.</summary>
    private static string[] TempFiles() => [.. Directory.GetFiles(Path.GetTempPath(), "*.tmp").Where(f => Path.GetFileName(f).StartsWith('.')).Order()];

    private static long Rss() => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out int value) ? value : fallback;
}

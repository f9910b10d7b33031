using Ras.IO.Images;
using Ras.Tests.Fuzzing;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;

namespace Ras.Cli.Tests.Commands;

/// <summary>
/// Issue 16, item 5 at the process level: mutated files given to <c>ras info</c>, <c>ras denoise</c> and <c>ras generate</c>
/// (a transformer's weights, its <c>config.json</c>, an image-to-image input). Every run exits 0, 1 or 2 (never a signal,
/// never the runtime's unhandled-exception exit), prints no stack trace, and leaves no output file unless it exited 0.
/// Ten seeded mutations per command after one clean run (33 processes), beside the in-process fuzzer's thousands.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class ProcessFuzzTests(ITestOutputHelper log) : IDisposable
{
    private const int RunsPerCommand = 10;
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Info_on_mutated_weights_exits_cleanly()
    {
        string model = TinyModels.WriteSd3Folder(temp.File("model"));
        string weights = Path.Combine(model, "transformer", "diffusion_pytorch_model.safetensors");
        Fuzz(weights, FormatMutations.Safetensors, seed: 501, _ => (["info", "--model", model], null));
    }

    [Fact]
    public void Denoise_with_a_mutated_config_exits_cleanly_and_writes_only_on_success()
    {
        string model = TinyModels.WriteSd3Folder(temp.File("model"));
        string config = Path.Combine(model, "transformer", "config.json");
        Fuzz(config, FormatMutations.Json, seed: 502, run =>
        {
            string output = temp.File($"denoised-{run}.safetensors");
            return (["denoise", "--model", model, "--inputs", Path.Combine(model, "inputs.safetensors"), "--out", output, "--steps", "2", "--guidance", "1"], output);
        });
    }

    [Fact]
    public void Generate_from_a_mutated_input_image_exits_cleanly_and_writes_only_on_success()
    {
        string image = temp.File("input.png");
        var pixels = new byte[32 * 32 * 3];
        new Random(5).NextBytes(pixels);
        File.WriteAllBytes(image, PngWriter.Encode(pixels, 32, 32));
        Fuzz(image, FormatMutations.Images, seed: 503, run =>
        {
            string output = temp.File($"out-{run}.png");
            return (["generate", "a red circle", "--steps", "2", "--image", image, "--strength", "0.5", "--width", "32", "--height", "32", "--out", output], output);
        });
    }

    /// <summary>Mutates <paramref name="file"/> in place (from its pristine bytes each run) and runs the command it names.</summary>
    private void Fuzz(string file, IReadOnlyList<Func<byte[], Random, byte[]>> formatMutations, int seed, Func<int, (string[] Args, string? Output)> command)
    {
        byte[] pristine = File.ReadAllBytes(file);
        (string[] cleanArgs, _) = command(-1);
        using (RasProcess clean = RasProcess.Run(cleanArgs))
        {
            Assert.True(clean.ExitCode == 0, $"the unmutated input fails: {clean.Error}");   // so the failures below are the mutations'
        }

        var random = new Random(seed);
        var exits = new List<int>();
        for (int run = 0; run < RunsPerCommand; run++)
        {
            File.WriteAllBytes(file, Mutations.Mutate(pristine, random, formatMutations));
            (string[] args, string? output) = command(run);
            using RasProcess process = RasProcess.Run(args);
            string where = $"run {run} (seed {seed}): ras {string.Join(' ', args)}\nexit {process.ExitCode}\n{process.Error}";
            Assert.True(process.ExitCode is 0 or 1 or 2, $"not a ras exit code: {where}");
            Assert.DoesNotContain("   at ", process.Error, StringComparison.Ordinal);   // a stack trace
            Assert.DoesNotContain("Unhandled exception", process.Error, StringComparison.Ordinal);
            if (output is not null)
            {
                Assert.True(process.ExitCode == 0 || !File.Exists(output), $"output written by a failed run: {where}");
            }

            Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp", SearchOption.AllDirectories));   // no temp file left behind
            exits.Add(process.ExitCode);
        }

        log.WriteLine($"exit codes: {string.Join(", ", exits.GroupBy(e => e).OrderBy(g => g.Key).Select(g => $"{g.Key} ×{g.Count()}"))}");
    }
}

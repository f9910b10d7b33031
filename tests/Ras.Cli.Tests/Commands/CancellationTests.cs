using System.Diagnostics;
using Ras.IO.Safetensors;
using Ras.Models.SD3;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Cli.Tests.Commands;

/// <summary>
/// Issue 16: Ctrl+C through a real process. Each run is started so that it would take a minute or more, interrupted with a
/// real SIGINT once it is working, and must exit 130 within seconds (one step, batch or block), leaving no output and no
/// temp file. The bound is loose (a loaded 2-core machine) but far below the run's length.
/// </summary>
public sealed class CancellationTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(10);
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Generate_stops_within_a_step_and_writes_nothing()
    {
        string png = temp.File("out.png");
        using var run = RasProcess.Start(["generate", "a large yellow star at the center on a purple background", "--steps", "5000", "--ras",
            "--out", png, "--heatmap", temp.File("heat.png")]);
        InterruptWhileWorking(run, "device:");
        Assert.False(File.Exists(png));
        Assert.Empty(Directory.GetFiles(temp.Path));   // no image, no heatmap, no temp file
    }

    [Fact]
    public void Denoise_stops_within_a_step_and_writes_nothing()
    {
        string model = TinyModels.WriteSd3Folder(temp.File("model"));
        string output = Path.Combine(temp.File("out"), "latents.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        using var run = RasProcess.Start(["denoise", "--model", model, "--inputs", Path.Combine(model, "inputs.safetensors"), "--out", output,
            "--steps", "100000", "--guidance", "1", "--sample-ratio", "0.5"]);
        InterruptWhileWorking(run, "device:");
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(output)!));
    }

    [Fact]
    public void Eval_stops_within_a_step_and_writes_nothing()
    {
        string json = temp.File("eval.json");
        using var run = RasProcess.Start(["eval", "--prompts", "200", "--json", json, "--grid", temp.File("grid.png")]);
        InterruptWhileWorking(run, "device:");
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Train_default_stops_within_a_step_and_its_checkpoint_resumes()
    {
        string checkpoints = temp.File("checkpoints");
        string[] Train(string steps) => ["train-default", "--checkpoint-dir", checkpoints, "--steps", steps, "--batch-size", "2", "--threads", "1"];
        using var run = RasProcess.Start([.. Train("1000000"), "--export", temp.File("export")]);
        Assert.True(run.WaitFor("train step", Startup, inError: true), $"training never reported a step\n{run.Error}");
        Thread.Sleep(500);
        Interrupt(run);
        Assert.Contains("checkpoint written", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.File("export")), "a cancelled run exports nothing");
        Assert.Empty(Directory.GetFiles(checkpoints, "*.tmp*"));
        string stopped = run.Out.Split('\n').Single(l => l.StartsWith("stopped:", StringComparison.Ordinal));
        long step = long.Parse(stopped.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(step >= 1, stopped);

        using var resumed = RasProcess.Run(Train((step + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(resumed.ExitCode == 0, resumed.Error);
        Assert.Contains($"(at step {step})", resumed.Out, StringComparison.Ordinal);
        Assert.Contains($"stopped:    step {step + 1}", resumed.Out, StringComparison.Ordinal);
    }

    /// <summary>Issue 16: a bench forward took ~20 s and Ctrl+C waited for all of it; now it stops between blocks.</summary>
    [Fact]
    public void Bench_stops_within_a_block_of_a_long_forward()
    {
        // 160 narrow blocks over 4096 tokens: one forward takes several seconds here, one block a few tens of milliseconds.
        string model = WriteDeepModel(temp.File("deep"), layers: 160);
        using var run = RasProcess.Start(["bench", "--model", model, "--height", "1024", "--width", "1024", "--text-tokens", "8", "--ratios", "1",
            "--repeat", "100", "--json", temp.File("bench.json")]);
        InterruptWhileWorking(run, "device:");
        Assert.False(File.Exists(temp.File("bench.json")));
    }

    [Fact]
    public void Convert_stops_within_a_tensor_and_writes_nothing()
    {
        // 8 GiB of float32 zeros in a sparse file (no disk used): converting it to float16 takes several seconds here.
        string input = WriteSparseSafetensors(temp.File("big.safetensors"), tensors: 16, rows: 8192, columns: 16384);
        string outputs = temp.File("out");
        Directory.CreateDirectory(outputs);
        using var run = RasProcess.Start(["convert", input, "--out", Path.Combine(outputs, "small.safetensors"), "--dtype", "f16"]);
        var clock = Stopwatch.StartNew();
        while (Directory.GetFiles(outputs).Length == 0 && !run.WaitForExit(TimeSpan.FromMilliseconds(50)))
        {
            Assert.True(clock.Elapsed < Startup, $"ras convert never started writing\n{run.Error}");
        }

        Thread.Sleep(300);   // tensors are being written
        Interrupt(run);
        Assert.Empty(Directory.GetFiles(outputs));   // neither the output nor its temp file
    }

    private void InterruptWhileWorking(RasProcess run, string ready)
    {
        Assert.True(run.WaitFor(ready, Startup), $"ras never got to '{ready}'\n{run.Out}\n{run.Error}");
        Thread.Sleep(1000);   // into the loop: the model is loaded, steps are running
        Interrupt(run);
    }

    private void Interrupt(RasProcess run)
    {
        var clock = Stopwatch.StartNew();
        run.Interrupt();
        bool exited = run.WaitForExit(TimeSpan.FromSeconds(60));
        log.WriteLine($"exited {clock.Elapsed.TotalSeconds:0.00} s after SIGINT\n{run.Out}\n{run.Error}");
        Assert.True(exited, "ras did not exit after SIGINT");
        Assert.True(clock.Elapsed < ExitBound, $"ras took {clock.Elapsed.TotalSeconds:0.0} s to stop");
        Assert.Equal(130, run.ExitCode);
        Assert.Contains("ras: cancelled", run.Error, StringComparison.Ordinal);
    }

    /// <summary>A safetensors file of zero float32 tensors whose data section is a hole (sparse): any size, no disk.</summary>
    private static string WriteSparseSafetensors(string path, int tensors, long rows, long columns)
    {
        long size = rows * columns * sizeof(float);
        string header = "{" + string.Join(",", Enumerable.Range(0, tensors).Select(i =>
            $"\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[{rows},{columns}],\"data_offsets\":[{i * size},{(i + 1) * size}]}}")) + "}";
        header = header.PadRight((header.Length + 7) / 8 * 8);
        using var file = File.Create(path);
        file.Write(BitConverter.GetBytes((long)header.Length));
        file.Write(System.Text.Encoding.ASCII.GetBytes(header));
        file.SetLength(file.Position + (tensors * size));
        return path;
    }

    private static string WriteDeepModel(string folder, int layers)
    {
        var config = new SD3TransformerConfig
        {
            SampleSize = 128, PatchSize = 2, InChannels = 4, OutChannels = 4, NumLayers = layers, AttentionHeadDim = 16,
            NumAttentionHeads = 2, JointAttentionDim = 8, CaptionProjectionDim = 32, PooledProjectionDim = 8, PosEmbedMaxSize = 64,
        };
        Directory.CreateDirectory(Path.Combine(folder, "transformer"));
        Directory.CreateDirectory(Path.Combine(folder, "scheduler"));
        File.WriteAllText(Path.Combine(folder, "transformer", "config.json"), config.ToJson());
        File.WriteAllText(Path.Combine(folder, "scheduler", "scheduler_config.json"), new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 }.ToJson());
        using var model = new SD3Transformer2DModel(config);
        SafetensorsWriter.Write(Path.Combine(folder, "transformer", "diffusion_pytorch_model.safetensors"), model.state_dict());
        return folder;
    }
}

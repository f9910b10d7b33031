using Ras.IO.Safetensors;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Cli.Tests.Commands;

/// <summary><c>ras denoise</c> behaviour and bad input, on a tiny random SD3 pipeline folder.</summary>
public sealed class DenoiseCommandTests : IDisposable
{
    private readonly TempDirectory temp = new();
    private readonly TempDirectory modelDir = new();
    private readonly string model;

    public DenoiseCommandTests()
    {
        model = TinyModels.WriteSd3Folder(modelDir.Path);
    }

    public void Dispose()
    {
        temp.Dispose();
        modelDir.Dispose();
    }

    private string Inputs => Path.Combine(model, "inputs.safetensors");

    [Fact]
    public void Same_seed_gives_identical_latents_and_the_seed_is_printed()
    {
        string inputs = WithoutLatents();
        var first = CliRunner.Run("denoise", "--model", model, "--inputs", inputs, "--out", temp.File("a.safetensors"), "--steps", "3", "--guidance", "1", "--seed", "42", "--width", "96", "--height", "64");
        var second = CliRunner.Run("denoise", "--model", model, "--inputs", inputs, "--out", temp.File("b.safetensors"), "--steps", "3", "--guidance", "1", "--seed", "42", "--width", "96", "--height", "64");
        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("seed 42", first.Out, StringComparison.Ordinal);
        using var a = SafetensorsFile.Open(temp.File("a.safetensors"));
        using var b = SafetensorsFile.Open(temp.File("b.safetensors"));
        using Tensor la = a.Read("latents");
        using Tensor lb = b.Read("latents");
        Assert.Equal([1, 4, 8, 12], la.shape);
Assert.True(TensorAssert.Same(la, lb));

        var unseeded = CliRunner.Run("denoise", "--model", model, "--inputs", inputs, "--out", temp.File("c.safetensors"), "--steps", "2", "--guidance", "1");
        Assert.Matches("seed [0-9]+", unseeded.Out);
    }

    [Theory]
    [InlineData("--sample-ratio", "1.5", "sample-ratio")]
    [InlineData("--sample-ratio", "0", "sample-ratio")]
    [InlineData("--scheduler-start-step", "0", "scheduler-start-step")]
    [InlineData("--scheduler-end-step", "99", "scheduler-end-step")]
    [InlineData("--error-reset-steps", "1,x", "error-reset-steps")]
    [InlineData("--error-reset-steps", "12", "error-reset-steps")]
    [InlineData("--metric", "cosine", "metric")]
    [InlineData("--high-ratio", "2", "high-ratio")]
    [InlineData("--steps", "0", "steps")]
    [InlineData("--threads", "0", "threads")]
    [InlineData("--device", "tpu", "device")]
    public void Invalid_options_exit_2_naming_the_option_and_write_nothing(string flag, string value, string named)
    {
        string output = temp.File("out.safetensors");
        var result = CliRunner.Run("denoise", "--model", model, "--inputs", Inputs, "--out", output, "--steps", "8", "--guidance", "1", "--sample-ratio", "0.5", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Bad_paths_and_inputs_exit_2_with_the_path_named()
    {
        var noModel = CliRunner.Run("denoise", "--model", temp.Path, "--inputs", Inputs, "--out", temp.File("o.safetensors"));
        Assert.Equal(2, noModel.ExitCode);
        Assert.Contains("transformer/config.json", noModel.Error, StringComparison.Ordinal);

        var noFolder = CliRunner.Run("denoise", "--model", model, "--inputs", Inputs, "--out", Path.Combine(temp.Path, "missing", "o.safetensors"));
        Assert.Equal(2, noFolder.ExitCode);
        Assert.Contains("does not exist", noFolder.Error, StringComparison.Ordinal);

        var noInputs = CliRunner.Run("denoise", "--model", model, "--inputs", temp.File("none.safetensors"), "--out", temp.File("o.safetensors"));
        Assert.Equal(2, noInputs.ExitCode);
        Assert.Contains("none.safetensors", noInputs.Error, StringComparison.Ordinal);

        // CFG needs negative embeddings.
        var noNegatives = CliRunner.Run("denoise", "--model", model, "--inputs", WithoutLatents(["negative_prompt_embeds"]), "--out", temp.File("o.safetensors"), "--guidance", "5", "--steps", "2");
        Assert.Equal(2, noNegatives.ExitCode);
        Assert.Contains("negative_prompt_embeds", noNegatives.Error, StringComparison.Ordinal);

        var badSize = CliRunner.Run("denoise", "--model", model, "--inputs", WithoutLatents(), "--out", temp.File("o.safetensors"), "--guidance", "1", "--width", "100");
        Assert.Equal(2, badSize.ExitCode);
        Assert.Contains("width", badSize.Error, StringComparison.Ordinal);

        var missingFlag = CliRunner.Run("denoise", "--model", model);
        Assert.Equal(2, missingFlag.ExitCode);
        Assert.DoesNotContain(Directory.GetFiles(temp.Path), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Cancellation_exits_130_and_leaves_no_output()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        string output = temp.File("o.safetensors");
        var result = CliRunner.Run(cancelled.Token, "denoise", "--model", model, "--inputs", Inputs, "--out", output, "--steps", "4", "--guidance", "1");
        Assert.Equal(130, result.ExitCode);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Help_documents_every_ras_option_and_its_default()
    {
        var result = CliRunner.Run("denoise", "--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string flag in new[] { "--sample-ratio", "--metric", "--high-ratio", "--starvation-scale", "--scheduler-start-step", "--scheduler-end-step", "--error-reset-steps", "--skip-num-step", "--skip-num-step-length", "--device", "--threads" })
        {
            Assert.Contains(flag, result.Out, StringComparison.Ordinal);
        }

        Assert.Contains("Default: 1 (dense)", result.Out, StringComparison.Ordinal);
    }

    private string WithoutLatents(string[]? alsoDrop = null)
    {
        string path = temp.File($"embeds-{Guid.NewGuid():N}.safetensors");
        using var source = SafetensorsFile.Open(Inputs);
        using var scope = NewDisposeScope();
        var dropped = new HashSet<string>(alsoDrop ?? []) { "latents" };
        var tensors = source.Entries.Keys.Where(k => !dropped.Contains(k)).ToDictionary(k => k, k => source.Read(k));
        SafetensorsWriter.Write(path, tensors);
        return path;
    }
}

using Ras.IO.Safetensors;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Cli.Tests.Commands;

/// <summary>Issue 16 (tried as a new user would): help, parse errors and output paths say what is wrong, exit 2 and write nothing.</summary>
public sealed class UsageTests : IDisposable
{
    private static readonly string[] Commands = ["generate", "denoise", "info", "bench", "train-default", "eval", "probe", "synth-pipeline"];
    private readonly TempDirectory temp = new();
    private readonly TempDirectory modelDir = new();
    private readonly string model;

    public UsageTests()
    {
        model = TinyModels.WriteSd3Folder(modelDir.Path);
    }

    public void Dispose()
    {
        temp.Dispose();
        modelDir.Dispose();
    }

    [Fact]
    public void Help_states_each_default_once()
    {
        foreach (string command in Commands)
        {
            var help = CliRunner.Run(command, "--help");
            Assert.Equal(0, help.ExitCode);
            foreach (string line in help.Out.Split('\n'))
            {
                Assert.False(line.Contains("Default:", StringComparison.Ordinal) && line.Contains("[default:", StringComparison.Ordinal), $"{command}: {line}");
            }
        }
    }

    [Fact]
    public void Help_documents_the_size_limit_of_the_built_in_model_and_devices_everywhere_computing_happens()
    {
        Assert.Contains("of 4 for ras-shapes (at most 64)", CliRunner.Run("generate", "--help").Out, StringComparison.Ordinal);
        foreach (string command in new[] { "generate", "denoise", "bench", "train-default", "eval", "probe" })
        {
            string help = CliRunner.Run(command, "--help").Out;
            Assert.Contains("--device", help, StringComparison.Ordinal);
            Assert.Contains("--threads", help, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("vae", "--help")]
    [InlineData("vae")]
    [InlineData("info", "extra")]
    public void Unknown_commands_and_arguments_exit_2_even_with_help(params string[] args)
    {
        var result = CliRunner.Run(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"'{(args[0] == "info" ? "extra" : "vae")}'", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--steps", "abc", "--steps: 'abc' is not an integer")]
    [InlineData("--guidance", "high", "--guidance: 'high' is not a number")]
    [InlineData("--seed", "-", "--seed: '-' is not an integer")]
    public void A_value_of_the_wrong_type_names_the_option_and_the_kind_of_value(string flag, string value, string message)
    {
        var result = CliRunner.Run("generate", "a cat", flag, value);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cuda")]
    [InlineData("cuda:1")]
    public void Cuda_on_a_cpu_build_says_the_build_has_no_cuda_and_how_to_get_one(string device)
    {
        var result = CliRunner.Run("denoise", "--model", model, "--inputs", Path.Combine(model, "inputs.safetensors"), "--out", temp.File("o.safetensors"), "--device", device);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("no CUDA support", result.Error, StringComparison.Ordinal);
        Assert.Contains("-p:RasTorchPackage=TorchSharp-cuda-linux", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("is not a device", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Theory]
    [InlineData("--out", "")]
    [InlineData("--out", " ")]
    [InlineData("--out", "x.jpg")]
    [InlineData("--out", "x.webp")]
    [InlineData("--heatmap", "h.jpeg")]
    [InlineData("--heatmap", "")]
    public void Generate_refuses_an_empty_or_non_png_output_before_any_work(string flag, string value)
    {
        string[] output = flag == "--out" ? [] : ["--out", temp.File("x.png")];
        var result = CliRunner.Run(["generate", "a cat", "--model", temp.File("no-such-model"), .. output, flag, value.Length > 0 && value != " " ? temp.File(value) : value]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(flag[2..] + ":", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("no-such-model", result.Error, StringComparison.Ordinal);   // refused before the model is opened
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public void Generate_refuses_a_heatmap_that_would_overwrite_the_image(string batch)
    {
        var result = CliRunner.Run("generate", "a cat", "--out", temp.File("same.png"), "--heatmap", temp.File("same.png"), "--batch", batch);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("heatmap:", result.Error, StringComparison.Ordinal);
        Assert.Contains("also written by --out", result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Empty_output_paths_exit_2_in_every_command()
    {
        var denoise = CliRunner.Run("denoise", "--model", model, "--inputs", Path.Combine(model, "inputs.safetensors"), "--out", "");
        Assert.Equal(2, denoise.ExitCode);
        Assert.Contains("out:", denoise.Error, StringComparison.Ordinal);
        var bench = CliRunner.Run("bench", "--model", model, "--json", "");
        Assert.Equal(2, bench.ExitCode);
        Assert.Contains("json:", bench.Error, StringComparison.Ordinal);
        var eval = CliRunner.Run("eval", "--grid", "grid.jpg");
        Assert.Equal(2, eval.ExitCode);
        Assert.Contains("grid:", eval.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--width", "528", "width")]
    [InlineData("--height", "1024", "height")]
    public void Denoise_and_bench_refuse_a_size_beyond_the_position_table_naming_it(string flag, string value, string named)
    {
        string inputs = WithoutLatents();
        var denoise = CliRunner.Run("denoise", "--model", model, "--inputs", inputs, "--out", temp.File("o.safetensors"), "--guidance", "1", "--steps", "2", flag, value);
        Assert.Equal(2, denoise.ExitCode);
        Assert.Contains(named + ":", denoise.Error, StringComparison.Ordinal);
        Assert.Contains("position table", denoise.Error, StringComparison.Ordinal);

        string other = flag == "--width" ? "--height" : "--width";
        var bench = CliRunner.Run("bench", "--model", model, other, "128", "--repeat", "1", flag, value, "--json", temp.File("b.json"));
        Assert.Equal(2, bench.ExitCode);
        Assert.Contains(named + ":", bench.Error, StringComparison.Ordinal);
        Assert.Contains("position table", bench.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(temp.Path), f => f.EndsWith(".json", StringComparison.Ordinal) || f.Contains("o.safetensors", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--layers")]
    [InlineData("--single-layers")]
    public void Bench_refuses_a_depth_for_a_model_folder(string flag)
    {
        var result = CliRunner.Run("bench", "--model", model, flag, "2");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(flag[2..] + ": sets the depth of a --synthetic model", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prompt_embeds", float.NaN)]
    [InlineData("negative_pooled_prompt_embeds", float.PositiveInfinity)]
    [InlineData("latents", float.NegativeInfinity)]
    public void Non_finite_inputs_are_bad_input_naming_the_tensor(string tensor, float value)
    {
        string inputs = temp.File("bad.safetensors");
        using (var source = SafetensorsFile.Open(Path.Combine(model, "inputs.safetensors")))
        using (var scope = NewDisposeScope())
        {
            var tensors = source.Entries.Keys.ToDictionary(k => k, k => source.Read(k));
            tensors[tensor] = tensors[tensor].clone();
            tensors[tensor].view(-1)[1] = value;
            SafetensorsWriter.Write(inputs, tensors);
        }

        string output = temp.File("o.safetensors");
        var result = CliRunner.Run("denoise", "--model", model, "--inputs", inputs, "--out", output, "--steps", "2", "--guidance", "5");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"tensor '{tensor}': holds 1 NaN or infinite value(s)", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("diverged", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    private string WithoutLatents()
    {
        string path = temp.File($"embeds-{Guid.NewGuid():N}.safetensors");
        using var source = SafetensorsFile.Open(Path.Combine(model, "inputs.safetensors"));
        using var scope = NewDisposeScope();
        var tensors = source.Entries.Keys.Where(k => k != "latents").ToDictionary(k => k, k => source.Read(k));
        SafetensorsWriter.Write(path, tensors);
        return path;
    }
}

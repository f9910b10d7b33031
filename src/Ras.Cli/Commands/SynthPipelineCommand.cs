using System.CommandLine;
using System.Globalization;
using Ras.Cli.Bench;
using Ras.Errors;
using static TorchSharp.torch;

namespace Ras.Cli.Commands;

/// <summary><c>ras synth-pipeline</c>: a full-size SD3-family or FLUX.1 folder with zero weights, for memory and speed measurements.</summary>
internal sealed class SynthPipelineCommand : ICliCommand
{
    private readonly Argument<string> family = new("family") { Description = $"One of {string.Join(", ", SyntheticPipeline.Families)}." };
    private readonly Option<string> output = new("--out") { Description = "Folder to create (must not exist).", Required = true };
    private readonly Option<string> fixtures = new("--fixtures") { Description = "The shared fixtures folder (CLIP vocabulary, stand-in T5 SentencePiece model).", DefaultValueFactory = _ => Path.Combine("..", "shared", "fixtures") };
    private readonly Option<bool> noT5 = new("--no-t5") { Description = "SD3: leave out text_encoder_3 / tokenizer_3." };
    private readonly Option<string> dtype = new("--dtype") { Description = "Stored weight dtype: fp16, bf16 or fp32. Default: fp16 (SD3-medium), bf16 for sd3.5-* and flux-* (as published)." };

    private readonly Option<int?> layers = new("--layers") { Description = "Transformer blocks (FLUX.1: double-stream blocks). Default: the real model's. Fewer full-width blocks time loading in less memory." };
    private readonly Option<int?> singleLayers = new("--single-layers") { Description = "FLUX.1's single-stream blocks. Default: the real model's (38)." };

    private readonly Option<string?> transformerWeights = new("--transformer-weights") { Description = "Write the transformer packed instead: q8_0 or q4_k (GGUF, diffusion_pytorch_model.gguf; F32 where rows are not whole blocks) or fp8 (F8_E4M3 safetensors)." };

    public Command Build() => new("synth-pipeline", "Bench helper: write a full-size SD3 / SD3.5 / FLUX.1 pipeline folder with all-zero weights (sparse files: seconds, no disk space) to measure memory and time without a download.")
    {
        family, output, fixtures, noT5, dtype, layers, singleLayers, transformerWeights,
    };

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        string name = result.GetValue(family)!;
        string folder = result.GetValue(output)!;
        if (Directory.Exists(folder) || File.Exists(folder))
        {
            throw new OptionsException("out", $"{folder} already exists");
        }

        string root = result.GetValue(fixtures)!;
        if (!Directory.Exists(Path.Combine(root, "tokenizers", "clip_bpe")))
        {
            throw new OptionsException("fixtures", $"{root} has no tokenizers/clip_bpe (the CLIP vocabulary comes from there)");
        }

        ScalarType stored = (result.GetValue(dtype) ?? (name == "sd3-medium" ? "fp16" : "bf16")) switch
        {
            "fp16" => ScalarType.Float16,
            "bf16" => ScalarType.BFloat16,
            "fp32" => ScalarType.Float32,
            var other => throw new OptionsException("dtype", $"'{other}' is not fp16, bf16 or fp32"),
        };
        if (!SyntheticPipeline.Families.Contains(name))
        {
            throw new OptionsException("family", $"'{name}' is not one of {string.Join(", ", SyntheticPipeline.Families)}");
        }

        if (name.StartsWith("flux-", StringComparison.Ordinal) && result.GetValue(noT5))
        {
            throw new OptionsException("no-t5", "FLUX.1 cannot run without T5");
        }

        foreach ((int? depth, string flag) in new[] { (result.GetValue(layers), "layers"), (result.GetValue(singleLayers), "single-layers") })
        {
            if (depth is < 0 || (depth is 0 && flag == "layers"))
            {
                throw new OptionsException(flag, $"must be at least {(flag == "layers" ? 1 : 0)}, found {depth}");
            }
        }

        if (result.GetValue(singleLayers) is not null && !name.StartsWith("flux-", StringComparison.Ordinal))
        {
            throw new OptionsException("single-layers", $"{name} has no single-stream blocks");
        }

        string? packed = result.GetValue(transformerWeights);
        if (packed is not null && !SyntheticPipeline.PackedForms.Contains(packed))
        {
            throw new OptionsException("transformer-weights", $"'{packed}' is not one of {string.Join(", ", SyntheticPipeline.PackedForms)}");
        }

        long bytes = SyntheticPipeline.Write(name, folder, root, !result.GetValue(noT5), stored, result.GetValue(layers), result.GetValue(singleLayers), packed);
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {folder}: {name}, {bytes / 1e9:0.0} GB of {stored} weights{(packed is null ? string.Empty : $", the transformer's in {packed}")} (sparse, zeros)"));
        return Task.FromResult(ExitCodes.Ok);
    }
}

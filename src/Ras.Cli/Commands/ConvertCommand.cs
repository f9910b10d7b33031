using System.CommandLine;
using System.Globalization;
using Ras.Cli.Terminal;
using Ras.Errors;
using Ras.IO.Checkpoints;
using static TorchSharp.torch;

namespace Ras.Cli.Commands;

/// <summary><c>ras convert</c>: any supported single file (safetensors of any dtype, fp8 included; GGUF) to a plain safetensors file.</summary>
internal sealed class ConvertCommand : ICliCommand
{
    private readonly Argument<string> input = new("INPUT") { Description = "A .safetensors (any dtype, fp8 included) or .gguf file." };
    private readonly Option<string> output = new("--out") { Description = "The safetensors file to write (written to a temp file and renamed).", Required = true };
    private readonly Option<string> dtype = new("--dtype") { Description = "dtype of every float tensor: f32, f16 or bf16 (integer tensors keep theirs). Default: f32.", DefaultValueFactory = _ => "f32" };
    private readonly Option<bool> applyScales = new("--apply-scales") { Description = "Scaled fp8 (ComfyUI): write each weight as weight × its .scale_weight and drop the scale tensors and the scaled_fp8 marker. Default: keep them as separate tensors." };

    public Command Build() => new("convert", "Convert a checkpoint file to safetensors: same tensor names, row-major shapes, values dequantized (GGUF, fp8) to one float dtype.")
    {
        input, output, dtype, applyScales,
    };

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        string from = result.GetValue(input)!;
        string to = result.GetValue(output)!;
        ScalarType target = result.GetValue(dtype) switch
        {
            "f32" or "fp32" or "float32" => ScalarType.Float32,
            "f16" or "fp16" or "float16" => ScalarType.Float16,
            "bf16" or "bfloat16" => ScalarType.BFloat16,
            var other => throw new OptionsException("dtype", $"'{other}' is not f32, f16 or bf16"),
        };
        if (!File.Exists(from))
        {
            throw new RasInputException(Directory.Exists(from) ? $"{from}: is a folder; convert takes one checkpoint file" : $"{from}: no such file");
        }

        var bar = new ProgressBar(context.Error, "convert ");
        ConversionResult done = CheckpointConversion.Convert(from, to, target, result.GetValue(applyScales), bar, context.Cancellation);
        string scales = done.ScalesApplied > 0 ? $", {done.ScalesApplied} scaled weights multiplied out" : string.Empty;
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {to}: {done.Tensors} tensors from {done.InputFormat} {from}, {done.BytesWritten / 1048576.0:0.0} MiB of {Name(target)}{scales} in {done.Elapsed.TotalSeconds:0.0} s"));
        return Task.FromResult(ExitCodes.Ok);
    }

    private static string Name(ScalarType type) => type switch
    {
        ScalarType.Float16 => "f16",
        ScalarType.BFloat16 => "bf16",
        _ => "f32",
    };
}

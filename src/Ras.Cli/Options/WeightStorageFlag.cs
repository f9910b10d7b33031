using System.CommandLine;
using Ras.Errors;
using Ras.IO.Checkpoints;

namespace Ras.Cli.Options;

/// <summary><c>--weight-storage auto|full|stored</c>, shared by the commands that load large models.</summary>
internal sealed class WeightStorageFlag(string defaultValue)
{
    public Option<string> Option { get; } = new("--weight-storage")
    {
        Description = "How the large weights (the transformer; T5 for SD3 and FLUX.1, Gemma for Lumina-Next) are held: full (all float32: fastest), " +
            "stored (half-precision checkpoints stay half — T5 reads them from its file —, quantized GGUF and fp8 ones stay packed in the mapped file; " +
            "each block is made float32 just before its forward), or auto (stored when a float32 copy would exceed half the RAM, else full). Compute is float32 either way.",
        DefaultValueFactory = _ => defaultValue,
    };

    public WeightStorage Apply(ParseResult result) => result.GetValue(Option) switch
    {
        "auto" => WeightStorage.Auto,
        "full" => WeightStorage.FullPrecision,
        "stored" => WeightStorage.Stored,
        var other => throw new OptionsException("weight-storage", $"'{other}' is not auto, full or stored"),
    };
}

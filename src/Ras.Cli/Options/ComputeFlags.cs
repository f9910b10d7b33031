using System.CommandLine;
using System.Text.RegularExpressions;
using Ras.Errors;
using Ras.Native;
using TorchSharp;

namespace Ras.Cli.Options;

/// <summary><c>--device</c> and <c>--threads</c>, on every command that computes.</summary>
internal sealed partial class ComputeFlags
{
    public Option<string> Device { get; } = new("--device")
    {
        Description = "Compute device: cpu, cuda or cuda:N (CUDA needs a build with a CUDA TorchSharp package: -p:RasTorchPackage=TorchSharp-cuda-linux).",
        DefaultValueFactory = _ => "cpu",
    };

    public Option<int?> Threads { get; } = new("--threads")
    {
        Description = "CPU threads for libtorch. Default: libtorch's choice (all cores).",
    };

    public void AddTo(Command command)
    {
        command.Add(Device);
        command.Add(Threads);
    }

    /// <summary>Applies <c>--threads</c> (for commands that only run on the CPU).</summary>
    public void ApplyThreads(ParseResult result)
    {
        if (result.GetValue(Threads) is int threads)
        {
            if (threads < 1)
            {
                throw new OptionsException("threads", $"must be at least 1, found {threads}");
            }

            torch.set_num_threads(threads);
        }
    }

    /// <summary>Applies <c>--threads</c> and returns the parsed <c>--device</c>.</summary>
    public torch.Device Apply(ParseResult result)
    {
        ApplyThreads(result);

        string text = result.GetValue(Device)!;
        Match match = DeviceText().Match(text);
        if (!match.Success)
        {
            throw new OptionsException("device", $"'{text}' is not a device (use cpu, cuda or cuda:N)");
        }

        if (match.Groups["type"].Value == "cuda" && !torch.cuda.is_available())
        {
            throw new OptionsException("device", TorchNative.HasCudaLibraries
                ? $"'{text}': this build has CUDA support but no CUDA device is available (no GPU, or its driver is not loaded)"
                : $"'{text}': this build of ras has no CUDA support (it ships libtorch for the CPU, TorchSharp-cpu). "
                    + "For a GPU, build it with a CUDA TorchSharp package: dotnet build -c Release -p:RasTorchPackage=TorchSharp-cuda-linux (on Windows TorchSharp-cuda-windows)");
        }

        torch.Device device = torch.device(text);
        return device;
    }

    [GeneratedRegex("^(?:(?<type>cpu)|(?<type>cuda)(?::[0-9]+)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex DeviceText();

    /// <summary>"cpu, 2 threads" for the settings summary.</summary>
    public static string Describe(torch.Device device) => $"{device}, {torch.get_num_threads()} threads";
}

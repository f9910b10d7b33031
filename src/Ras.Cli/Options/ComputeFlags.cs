using System.CommandLine;
using Ras.Errors;
using TorchSharp;

namespace Ras.Cli.Options;

/// <summary><c>--device</c> and <c>--threads</c>, on every command that computes.</summary>
internal sealed class ComputeFlags
{
    public Option<string> Device { get; } = new("--device")
    {
        Description = "Compute device: cpu, cuda or cuda:N (CUDA needs a CUDA TorchSharp build). Default: cpu.",
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
        torch.Device device;
        try
        {
            device = torch.device(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new OptionsException("device", $"'{text}' is not a device (use cpu, cuda or cuda:N)");
        }

        if (device.type == DeviceType.CUDA && !torch.cuda.is_available())
        {
            throw new OptionsException("device", $"'{text}': CUDA is not available in this build (it uses TorchSharp-cpu; swap in a CUDA TorchSharp package)");
        }

        return device;
    }

    /// <summary>"cpu, 2 threads" for the settings summary.</summary>
    public static string Describe(torch.Device device) => $"{device}, {torch.get_num_threads()} threads";
}

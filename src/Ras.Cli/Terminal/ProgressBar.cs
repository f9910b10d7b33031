using System.Globalization;
using Ras.IO.Checkpoints;
using Ras.Pipelines;
using Ras.Sampling;

namespace Ras.Cli.Terminal;

/// <summary>
/// A one-line progress bar on stderr: steps, tokens computed this step, seconds per step and ETA.
/// Silent when stderr is not a terminal, so logs and pipes stay clean.
/// </summary>
internal sealed class ProgressBar : IProgress<SamplerProgress>, IProgress<GenerationProgress>, IProgress<ConversionProgress>
{
    private const int Width = 24;
    private readonly TextWriter error;
    private readonly bool enabled;
    private readonly string label;

    public ProgressBar(TextWriter error, string label, bool? enabled = null)
    {
        this.error = error;
        this.label = label;
        this.enabled = enabled ?? !Console.IsErrorRedirected;
    }

    /// <summary>Pipeline stages: text encoders and VAE decode as unit counts, denoising as steps.</summary>
    public void Report(GenerationProgress value)
    {
        if (value.Stage == GenerationStage.Denoise)
        {
            Report(new SamplerProgress(value.Step - 1, value.Total, value.ComputedTokens, value.TotalTokens, value.Elapsed));
            return;
        }

        if (!enabled)
        {
            return;
        }

        string stage = value.Stage == GenerationStage.Encode ? "encode  " : "decode  ";
        int filled = (int)Math.Round(Width * value.Step / (double)value.Total);
        error.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r{stage} [{new string('#', filled)}{new string('.', Width - filled)}] {value.Step}/{value.Total} · {value.Elapsed.TotalSeconds:0.0} s "));
        if (value.Step == value.Total)
        {
            error.WriteLine();
        }

        error.Flush();
    }

    public void Report(SamplerProgress value)
    {
        if (!enabled)
        {
            return;
        }

        int done = value.Step + 1;
        int filled = (int)Math.Round(Width * done / (double)value.Steps);
        double perStep = value.Elapsed.TotalSeconds / done;
        double eta = perStep * (value.Steps - done);
        string line = string.Create(CultureInfo.InvariantCulture,
            $"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {done}/{value.Steps} steps · {value.ComputedTokens}/{value.TotalTokens} tokens · {perStep:0.00} s/step · ETA {eta:0}s ");
        error.Write(line);
        if (done == value.Steps)
        {
            error.WriteLine();
        }

        error.Flush();
    }

    /// <summary>Checkpoint conversion: tensors written, MiB and throughput.</summary>
    public void Report(ConversionProgress value)
    {
        if (!enabled)
        {
            return;
        }

        int filled = (int)Math.Round(Width * value.Done / (double)Math.Max(1, value.Total));
        double seconds = Math.Max(value.Elapsed.TotalSeconds, 1e-3);
        error.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {value.Done}/{value.Total} tensors · {value.BytesWritten / 1048576.0:0} MiB · {value.BytesWritten / 1048576.0 / seconds:0} MiB/s "));
        if (value.Done == value.Total)
        {
            error.WriteLine();
        }

        error.Flush();
    }
}

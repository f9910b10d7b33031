namespace Ras.Cli;

/// <summary>Where a command writes and how it learns about cancellation.</summary>
internal sealed record CliContext(TextWriter Out, TextWriter Error, CancellationToken Cancellation);

using Ras.Cli;

namespace Ras.Cli.Tests;

/// <summary>Runs <c>ras</c> in-process and captures its exit code and output.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static Result Run(params string[] args) => Run(CancellationToken.None, args);

    public static Result Run(CancellationToken cancellation, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = CliApp.RunAsync(args, output, error, cancellation).GetAwaiter().GetResult();
        return new Result(code, output.ToString(), error.ToString());
    }
}

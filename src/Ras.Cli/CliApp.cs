using System.CommandLine;
using Ras.Cli.Commands;
using Ras.Errors;

namespace Ras.Cli;

/// <summary>Builds the <c>ras</c> command tree and maps every failure to an exit code, in one place.</summary>
internal static class CliApp
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellation)
    {
        var context = new CliContext(output, error, cancellation);
        var root = new RootCommand("Diffusion Transformers with Region-Adaptive Sampling (RAS), on TorchSharp.");
        foreach (ICliCommand command in new ICliCommand[] { new GenerateCommand(), new DenoiseCommand(), new InfoCommand(), new ConvertCommand(), new BenchCommand(), new BenchDequantCommand(), new TrainDefaultCommand(), new EvalCommand(), new ProbeCommand(), new SynthPipelineCommand() })
        {
            Command built = command.Build();
            built.SetAction((result, token) => RunGuarded(command, result, context));
            root.Add(built);
        }

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var problem in parsed.Errors)
            {
                error.WriteLine($"ras: {problem.Message}");
            }

            error.WriteLine("Run 'ras --help' or 'ras <command> --help' for usage.");
            return ExitCodes.BadInput;
        }

        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        return await parsed.InvokeAsync(invocation, cancellation);
    }

    private static async Task<int> RunGuarded(ICliCommand command, ParseResult result, CliContext context)
    {
        try
        {
            return await command.RunAsync(result, context);
        }
        catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
        {
            context.Error.WriteLine("ras: cancelled");
            return ExitCodes.Cancelled;
        }
        catch (RasInputException e)
        {
            context.Error.WriteLine($"ras: error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            context.Error.WriteLine($"ras: error: {e.Message}");
            return ExitCodes.BadInput;
        }
#pragma warning disable CA1031 // The CLI's single top-level handler: every other failure is a runtime failure.
        catch (Exception e)
#pragma warning restore CA1031
        {
            context.Error.WriteLine($"ras: failed: {e.GetType().Name}: {e.Message}");
            return ExitCodes.RuntimeFailure;
        }
    }
}

/// <summary>One <c>ras</c> subcommand: its options and its work.</summary>
internal interface ICliCommand
{
    Command Build();

    Task<int> RunAsync(ParseResult result, CliContext context);
}

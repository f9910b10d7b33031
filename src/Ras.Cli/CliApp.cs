using System.CommandLine;
using System.CommandLine.Parsing;
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
        foreach (ICliCommand command in new ICliCommand[] { new GenerateCommand(), new DenoiseCommand(), new InfoCommand(), new ConvertCommand(), new BenchCommand(), new BenchDequantCommand(), new TrainDefaultCommand(), new EvalCommand(), new ProbeCommand(), new SynthPipelineCommand(), new ServeCommand() })
        {
            Command built = command.Build();
            built.SetAction((result, token) => RunGuarded(command, result, context));
            root.Add(built);
        }

        ParseResult parsed = root.Parse(args);

        // --help clears parse errors (System.CommandLine's HelpAction), so `ras vae --help` would print the root help and
        // exit 0; an unknown command or argument is an error with or without --help.
        var problems = parsed.Errors.Select(Describe).ToList();
        if (problems.Count == 0 && parsed.UnmatchedTokens.Count > 0)
        {
            problems.Add($"unrecognized command or argument '{parsed.UnmatchedTokens[0]}'");
        }

        if (problems.Count > 0)
        {
            foreach (string problem in problems)
            {
                error.WriteLine($"ras: {problem}");
            }

            error.WriteLine("Run 'ras --help' or 'ras <command> --help' for usage.");
            return ExitCodes.BadInput;
        }

        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        return await parsed.InvokeAsync(invocation, cancellation);
    }

    /// <summary>A parse error in words: a value of the wrong type names the option and the kind of value expected, not a CLR type.</summary>
    private static string Describe(ParseError problem)
    {
        if (problem.SymbolResult is OptionResult option && option.Tokens.Count > 0
            && problem.Message.StartsWith("Cannot parse argument", StringComparison.Ordinal))
        {
            Type type = Nullable.GetUnderlyingType(option.Option.ValueType) ?? option.Option.ValueType;
            string expected = type == typeof(int) || type == typeof(long) ? "an integer"
                : type == typeof(ulong) ? "a non-negative integer"
                : type == typeof(double) || type == typeof(float) ? "a number"
                : type == typeof(bool) ? "true or false"
                : $"a {type.Name}";
            return $"{option.Option.Name}: '{option.Tokens[^1].Value}' is not {expected}";
        }

        return problem.Message;
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

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Ras.Cli.Tests;

/// <summary>
/// Runs the built <c>ras</c> (<c>dotnet ras.dll …</c>) as a real process, for what only a process shows: signals, exit codes
/// set by the runtime, environment variables such as HOME.
/// </summary>
public sealed partial class RasProcess : IDisposable
{
    private const int SigInt = 2;
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly StringBuilder error = new();
    private readonly Lock gate = new();

    static RasProcess()
    {
        // A test run started in the background by a non-interactive shell (`dotnet test &`, nohup) ignores SIGINT, and
        // children inherit an ignored signal, so ras would never see the tests' SIGINT. Restore the default for them.
        if (SigIntIgnored())
        {
            signal(SigInt, IntPtr.Zero);   // SIG_DFL
        }
    }

    private RasProcess(string[] args, IReadOnlyDictionary<string, string?>? environment, string? workingDirectory)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ras.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Out
    {
        get
        {
            lock (gate)
            {
                return output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (gate)
            {
                return error.ToString();
            }
        }
    }

    public int ExitCode => process.ExitCode;

    public static RasProcess Start(string[] args, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null) =>
        new(args, environment, workingDirectory);

    /// <summary>Runs to the end (at most <paramref name="timeout"/>).</summary>
    public static RasProcess Run(string[] args, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var run = Start(args, environment);
        Assert.True(run.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)), $"ras {string.Join(" ", args)} did not finish\n{run.Error}");
        return run;
    }

    /// <summary>Waits until stdout (or stderr) holds <paramref name="text"/>; false when the process ended or time ran out first.</summary>
    public bool WaitFor(string text, TimeSpan timeout, bool inError = false)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if ((inError ? Error : Out).Contains(text, StringComparison.Ordinal))
            {
                return true;
            }

            if (process.HasExited)
            {
                return false;
            }

            Thread.Sleep(20);
        }

        return false;
    }

    /// <summary>Sends SIGINT (what Ctrl+C sends) to the process.</summary>
    public void Interrupt() => Assert.Equal(0, kill(process.Id, SigInt));

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            return false;
        }

        process.WaitForExit();   // drains the redirected streams
        return true;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }

        process.Dispose();
    }

    private void Append(StringBuilder builder, string? line)
    {
        if (line is not null)
        {
            lock (gate)
            {
                builder.AppendLine(line);
            }
        }
    }

    private static bool SigIntIgnored()
    {
        const string status = "/proc/self/status";
        string? line = File.Exists(status) ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)) : null;
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (SigInt - 1))) != 0;
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial IntPtr signal(int signum, IntPtr handler);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}

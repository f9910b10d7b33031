using System.Runtime.InteropServices;
using Ras.Cli;
using Ras.Native;

// Before anything touches TorchSharp: on systems whose libstdc++ lacks GLIBCXX_3.4.32 this loads a patched wrapper.
TorchNative.EnsureLoadable();

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Keep the process alive so the command can stop between steps and clean up its temp files.
    e.Cancel = true;
    cancellation.Cancel();
};

// SIGTERM (service managers, `kill`) stops the same way: the command sees cancellation, cleans up and exits.
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    cancellation.Cancel();
});

return await CliApp.RunAsync(args, Console.Out, Console.Error, cancellation.Token);

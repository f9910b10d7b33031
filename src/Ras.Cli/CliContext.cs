using Ras.Pipelines;

namespace Ras.Cli;

/// <summary>Where a command writes and how it learns about cancellation.</summary>
internal sealed record CliContext(TextWriter Out, TextWriter Error, CancellationToken Cancellation)
{
    /// <summary>The built-in model's folder; says on stderr where it was unpacked, and why not in the preferred cache when it was not.</summary>
    public string BuiltInModelFolder()
    {
        BuiltInModelFolder found = BuiltInModel.Unpack();
        if (found.Unpacked)
        {
            Error.WriteLine($"ras: unpacked the built-in model to {found.Folder}{(found.PassedOver is null ? string.Empty : $" ({found.PassedOver})")}");
        }

        return found.Folder;
    }
}

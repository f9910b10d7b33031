namespace Ras.Cli;

/// <summary>The CLI's exit codes.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int RuntimeFailure = 1;
    public const int BadInput = 2;
    public const int Cancelled = 130;
}

namespace Ras.Errors;

/// <summary>
/// Base type for problems with what the caller supplied (files, configs, options). Front ends treat
/// these as bad input (the CLI exits with code 2); anything else is a runtime failure.
/// </summary>
public class RasInputException : Exception
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public RasInputException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a complete, user-facing message and its cause.</summary>
    public RasInputException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

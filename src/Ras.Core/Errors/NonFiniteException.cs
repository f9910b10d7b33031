namespace Ras.Errors;

/// <summary>A computation produced NaN or infinite values (a runtime failure, not bad input).</summary>
public sealed class NonFiniteException : Exception
{
    /// <summary>Creates the exception with a message naming where the values appeared.</summary>
    public NonFiniteException(string message)
        : base(message)
    {
    }
}

namespace Ras.Errors;

/// <summary>
/// A checkpoint whose tensors do not fit the model: every missing, unexpected and mis-shaped key is
/// listed at once so one run shows all the problems.
/// </summary>
public sealed class CheckpointException : RasInputException
{
    /// <summary>Creates the exception from the complete lists of problems.</summary>
    public CheckpointException(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
        : base(Describe(source, missing, unexpected, mismatched))
    {
        Location = source;
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
    }

    /// <summary>The checkpoint file or folder.</summary>
    public string Location { get; }

    /// <summary>Keys the model needs that the checkpoint lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the checkpoint has that the model does not know.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>"key: checkpoint [shape] vs model [shape]" for every shape mismatch.</summary>
    public IReadOnlyList<string> Mismatched { get; }

    private static string Describe(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
    {
        var parts = new List<string>();
        if (missing.Count > 0)
        {
            parts.Add($"{missing.Count} missing key(s): {string.Join(", ", missing)}");
        }

        if (unexpected.Count > 0)
        {
            parts.Add($"{unexpected.Count} unexpected key(s): {string.Join(", ", unexpected)}");
        }

        if (mismatched.Count > 0)
        {
            parts.Add($"{mismatched.Count} shape mismatch(es): {string.Join("; ", mismatched)}");
        }

        return $"{source}: checkpoint does not match the model: {string.Join(". ", parts)}";
    }
}

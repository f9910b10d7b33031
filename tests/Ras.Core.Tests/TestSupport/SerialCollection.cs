namespace Ras.Tests.TestSupport;

/// <summary>Tests that must not overlap any other test (process-wide counters); xunit runs this collection alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial";
}

using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Ras.Tests.Fixtures;

/// <summary>
/// One test per case folder under <c>&lt;fixtures root&gt;/&lt;family&gt;/</c> (a folder holding <c>case.json</c>
/// or <c>cases.json</c>); the case folder's name is the test argument, so it shows in the display name.
/// A family folder absent from the root gives no tests; a missing root gives one failing test.
/// </summary>
[XunitTestCaseDiscoverer("Ras.Tests.Fixtures.FixtureCaseDiscoverer", "Ras.Core.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class FixtureCasesAttribute : FactAttribute
{
    /// <summary>Marks a method taking one <c>string caseName</c> argument.</summary>
    public FixtureCasesAttribute(string family)
    {
        Family = family;
    }

    /// <summary>The family folder (e.g. <c>sd3</c>).</summary>
    public string Family { get; }
}

/// <summary>Enumerates case folders at discovery time, so a new folder is a new test with no code change.</summary>
public sealed class FixtureCaseDiscoverer : IXunitTestCaseDiscoverer
{
    /// <summary>Argument passed when the fixtures root itself is missing.</summary>
    public const string MissingRoot = "<fixtures root missing>";

    private readonly IMessageSink diagnosticMessageSink;

    public FixtureCaseDiscoverer(IMessageSink diagnosticMessageSink)
    {
        this.diagnosticMessageSink = diagnosticMessageSink;
    }

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        string family = factAttribute.GetConstructorArguments().Cast<string>().Single();
        foreach (string caseName in CaseNames(family))
        {
            yield return new XunitTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, [caseName]);
        }
    }

    /// <summary>Case folder names of <paramref name="family"/>, sorted; <see cref="MissingRoot"/> when the root is absent.</summary>
    public static IEnumerable<string> CaseNames(string family)
    {
        string root = RepositoryPaths.FixturesRoot;
        if (!Directory.Exists(root))
        {
            return [MissingRoot];
        }

        string familyDir = Path.Combine(root, family);
        if (!Directory.Exists(familyDir))
        {
            return [];
        }

        return Directory.GetDirectories(familyDir)
            .Where(d => File.Exists(Path.Combine(d, "case.json")) || File.Exists(Path.Combine(d, "cases.json")))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)!;
    }
}

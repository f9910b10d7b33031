using System.Text.Json;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Ras.Tests.Fixtures;

/// <summary>
/// One test per case folder under <c>&lt;fixtures root&gt;/&lt;family&gt;/</c> (a folder holding <c>case.json</c>
/// or <c>cases.json</c>); the case folder's name is the test argument, so it shows in the display name.
/// A family folder absent from the root gives no tests; a missing root gives one failing test (from the
/// unfiltered attribute; filtered ones then give none). Cases are found when tests are discovered, so a new
/// case folder is a new test with no code change.
/// </summary>
[XunitTestCaseDiscoverer("Ras.Tests.Fixtures.FixtureCaseDiscoverer", "Ras.Core.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class FixtureCasesAttribute : FactAttribute
{
    /// <summary>Marks a method taking one <c>string caseName</c> argument; <paramref name="kind"/> keeps only cases of that <c>kind</c>.</summary>
    public FixtureCasesAttribute(string family, string? kind = null)
    {
        Family = family;
        Kind = kind;
    }

    /// <summary>The family folder (e.g. <c>sd3</c>).</summary>
    public string Family { get; }

    /// <summary>Only cases whose <c>case.json</c> has this <c>kind</c>; null for all.</summary>
    public string? Kind { get; }

    /// <summary>
    /// Only cases whose case file has this top-level property; null for all. For families whose case files carry no
    /// <c>kind</c> (<c>tokenizers/</c>): a suite names the property its cases are recognised by (e.g. <c>t5_convention</c>).
    /// </summary>
    public string? Requires { get; set; }
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
        object?[] arguments = factAttribute.GetConstructorArguments().ToArray();
        string family = (string)arguments[0]!;
        string? kind = arguments.Length > 1 ? (string?)arguments[1] : null;
        string? requires = factAttribute.GetNamedArgument<string?>(nameof(FixtureCasesAttribute.Requires));
        foreach (string caseName in CaseNames(family, kind, requires))
        {
            yield return new XunitTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, [caseName]);
        }
    }

    /// <summary>
    /// Case folder names of <paramref name="family"/> (of <paramref name="kind"/> and with the top-level property
    /// <paramref name="requires"/>, if given), sorted; <see cref="MissingRoot"/> when the root is absent.
    /// </summary>
    public static IEnumerable<string> CaseNames(string family, string? kind = null, string? requires = null) =>
        CaseNames(RepositoryPaths.FixturesRoot, family, kind, requires);

    /// <summary><see cref="CaseNames(string, string?, string?)"/> under another fixtures root.</summary>
    public static IEnumerable<string> CaseNames(string root, string family, string? kind, string? requires)
    {
        if (!Directory.Exists(root))
        {
            // One failing test for a missing root: the unfiltered (library) fixture test reports it.
            return kind is null && requires is null ? [MissingRoot] : [];
        }

        string familyDir = Path.Combine(root, family);
        if (!Directory.Exists(familyDir))
        {
            return [];
        }

        return Directory.GetDirectories(familyDir)
            .Where(d => File.Exists(Path.Combine(d, "case.json")) || File.Exists(Path.Combine(d, "cases.json")))
            .Where(d => (kind is null && requires is null) || Matches(d, kind, requires))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)!;
    }

    private static bool Matches(string caseDir, string? kind, string? requires)
    {
        string file = Path.Combine(caseDir, "case.json");
        if (!File.Exists(file))
        {
            file = Path.Combine(caseDir, "cases.json");
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        return (kind is null || (root.TryGetProperty("kind", out JsonElement k) && k.GetString() == kind))
            && (requires is null || root.TryGetProperty(requires, out _));
    }
}

using System.IO.Compression;
using System.Text.Json;
using Ras.Tests.TestSupport;
using Xunit.Sdk;

namespace Ras.Tests.Tokenizers;

/// <summary>Reads the tokenizer fixtures in place; gzipped vocabularies are expanded into a temp folder, never beside the fixture.</summary>
internal static class TokenizerFixtureFiles
{
    public static string Folder(string family, string name)
    {
        string folder = Path.Combine(RepositoryPaths.FixturesRoot, family, name);
        return Directory.Exists(folder) ? folder : throw new XunitException($"fixture folder '{folder}' does not exist");
    }

    public static JsonDocument Cases(string folder) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "cases.json")));

    /// <summary>A copy of a HF tokenizer folder in <paramref name="temp"/> with every <c>*.gz</c> decompressed.</summary>
    public static string Expand(string source, TempDirectory temp)
    {
        string target = Path.Combine(temp.Path, Path.GetFileName(source));
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source))
        {
            if (file.EndsWith(".gz", StringComparison.Ordinal))
            {
                using var input = new GZipStream(File.OpenRead(file), CompressionMode.Decompress);
                using var output = File.Create(Path.Combine(target, Path.GetFileNameWithoutExtension(file)));
                input.CopyTo(output);
            }
            else
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }

        return target;
    }

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    /// <summary>Fails with every mismatching case at once (a case per line), and when no case ran.</summary>
    public static void AssertNoFailures(int cases, List<string> failures)
    {
        Assert.True(cases > 0, "the fixture holds no cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} checks failed:\n" + string.Join("\n", failures));
    }

    public static void CheckSequence<T>(List<string> failures, string what, IEnumerable<T> expected, IEnumerable<T> actual)
    {
        T[] e = expected.ToArray(), a = actual.ToArray();
        if (!e.SequenceEqual(a))
        {
            failures.Add($"{what}: expected [{string.Join(", ", e)}] got [{string.Join(", ", a)}]");
        }
    }

    public static void Check<T>(List<string> failures, string what, T expected, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            failures.Add($"{what}: expected {expected} got {actual}");
        }
    }
}

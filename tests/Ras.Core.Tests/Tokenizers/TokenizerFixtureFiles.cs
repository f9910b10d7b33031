using System.IO.Compression;
using System.Text.Json;
using Ras.Tests.TestSupport;
using Ras.Tokenizers.SentencePiece;

namespace Ras.Tests.Tokenizers;

/// <summary>Reads the tokenizer fixtures in place; gzipped vocabularies are expanded into a temp folder, never beside the fixture.</summary>
internal static class TokenizerFixtureFiles
{
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

    /// <summary>A piece table (<c>[piece, score, type]</c> rows in id order) against a loaded model, piece by piece.</summary>
    public static void AssertPieces(JsonElement table, SentencePieceModel model)
    {
        JsonElement[] expected = table.EnumerateArray().ToArray();
        Assert.Equal(expected.Length, model.Pieces.Count);
        for (int id = 0; id < expected.Length; id++)
        {
            JsonElement[] row = expected[id].EnumerateArray().ToArray();
            SentencePieceEntry actual = model.Pieces[id];
            Assert.Equal(row[0].GetString(), actual.Piece);
            Assert.Equal(row[1].GetSingle(), actual.Score);
            Assert.Equal(row[2].GetString(), actual.Type.ToString().ToUpperInvariant());
        }
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

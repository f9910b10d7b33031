using Ras.IO.Configs;
using System.Text.Json;
using Ras.Errors;

namespace Ras.Tokenizers.Clip;

/// <summary>
/// Reads and checks CLIP's <c>vocab.json</c> and <c>merges.txt</c> (the Hugging Face layout), so that a bad file
/// fails here with its name and not deep inside the BPE library.
/// </summary>
internal static class ClipBpeFiles
{
    /// <summary>transformers reads <c>merges.txt</c> lines [1 : 49152 − 256 − 2 + 1]: at most 48894 merges.</summary>
    public const int MaxMerges = 49152 - 256 - 2;

    private const string EndOfWord = "</w>";

    /// <summary><c>{token: id}</c>; every byte symbol must be present, alone and with <c>&lt;/w&gt;</c>, as in CLIP's vocabulary.</summary>
    public static Dictionary<string, int> ReadVocabulary(string path)
    {
        RequireFile(path);
        Dictionary<string, int> vocabulary;
        try
        {
            vocabulary = JsonSerializer.Deserialize<Dictionary<string, int>>(TextFiles.ReadUtf8(path, TextFiles.MaxJsonBytes, problem => new ConfigException(path, null, problem)))
                ?? throw new ConfigException(path, null, "must hold a JSON object {token: id}");
        }
        catch (JsonException e)
        {
            throw new ConfigException(path, null, $"must hold a JSON object {{token: id}} ({e.Message})", e);
        }

        var owners = new Dictionary<int, string>();
        foreach ((string token, int id) in vocabulary)
        {
            if (id < 0)
            {
                throw new ConfigException(path, token, $"has the negative id {id}");
            }

            if (!owners.TryAdd(id, token))
            {
                throw new ConfigException(path, token, $"has id {id}, which '{owners[id]}' already has");
            }
        }

        // Byte-level BPE starts from one symbol per UTF-8 byte (the last one with "</w>"): with every symbol
        // present no text is ever unknown, which is what CLIP's vocabulary guarantees.
        foreach (char symbol in ByteLevelAlphabet.Symbols)
        {
            foreach (string token in new[] { symbol.ToString(), symbol + EndOfWord })
            {
                if (!vocabulary.ContainsKey(token))
                {
                    throw new ConfigException(path, null, $"lacks the byte-level symbol '{token}' (U+{(int)symbol:X4}); a CLIP vocabulary holds all 256 byte symbols, alone and with '{EndOfWord}'");
                }
            }
        }

        return vocabulary;
    }

    /// <summary>
    /// The merges as <c>"left right"</c> in rank order, read as transformers does: the text stripped, split into lines,
    /// line 0 (the <c>#version</c> header) skipped, at most <see cref="MaxMerges"/> lines kept.
    /// </summary>
    public static List<string> ReadMerges(string path, IReadOnlyDictionary<string, int> vocabulary, string vocabularyPath)
    {
        RequireFile(path);
        byte[] bytes = TextFiles.ReadUtf8(path, TextFiles.MaxJsonBytes, problem => new ConfigException(path, null, problem));
        string[] lines = System.Text.Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF').Trim().Split('\n');
        var merges = new List<string>(Math.Min(lines.Length, MaxMerges));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 1; i < lines.Length && i <= MaxMerges; i++)
        {
            string field = $"line {i + 1}";
            string[] pair = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (pair.Length != 2)
            {
                throw new ConfigException(path, field, $"must hold two symbols separated by a space, found \"{Shorten(lines[i])}\"");
            }

            foreach (string symbol in new[] { pair[0], pair[1], pair[0] + pair[1] })
            {
                if (!vocabulary.ContainsKey(symbol))
                {
                    throw new ConfigException(path, field, $"'{symbol}' is not in the vocabulary {vocabularyPath}");
                }
            }

            string merge = pair[0] + " " + pair[1];
            if (!seen.Add(merge))
            {
                throw new ConfigException(path, field, $"repeats the merge \"{merge}\"");
            }

            merges.Add(merge);
        }

        return merges;
    }

    /// <summary>Throws the project's "file not found" error, naming the file.</summary>
    public static void RequireFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException(path, null, "file not found");
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text.TrimEnd('\r') : text[..37] + "...";
}

using System.Text.Json;
using Ras.Errors;

namespace Ras.Models.Shapes;

/// <summary>Token ids of one prompt, padded to the tokenizer's length, and what could not be represented.</summary>
/// <param name="Ids">Exactly <see cref="WordTokenizer.MaxLength"/> ids.</param>
/// <param name="UnknownWords">Words mapped to the unknown id, in order.</param>
/// <param name="Truncated">True when the prompt had more words than fit.</param>
public sealed record TokenizedPrompt(long[] Ids, IReadOnlyList<string> UnknownWords, bool Truncated);

/// <summary>
/// Word-level tokenizer of the default model: lower-cased, whitespace-split words looked up in a fixed
/// vocabulary (<c>tokenizer/vocab.json</c>, a JSON list; index = id). Ids 0–2 are special: padding, unknown
/// word, and the empty prompt (the unconditional input of classifier-free guidance).
/// </summary>
public sealed class WordTokenizer
{
    /// <summary>Padding id.</summary>
    public const int PadId = 0;

    /// <summary>Unknown-word id.</summary>
    public const int UnknownId = 1;

    /// <summary>Id of the empty prompt (sole token of "").</summary>
    public const int EmptyId = 2;

    /// <summary>Special tokens, in id order, as stored at the start of <c>vocab.json</c>.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = ["<pad>", "<unk>", "<empty>"];

    private readonly Dictionary<string, int> ids;

    /// <summary>Creates a tokenizer over <paramref name="vocabulary"/> (which must start with <see cref="SpecialTokens"/>).</summary>
    public WordTokenizer(IReadOnlyList<string> vocabulary, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (!vocabulary.Take(SpecialTokens.Count).SequenceEqual(SpecialTokens))
        {
            throw new ArgumentException($"vocabulary must start with {string.Join(", ", SpecialTokens)}", nameof(vocabulary));
        }

        Vocabulary = vocabulary;
        MaxLength = maxLength;
        ids = vocabulary.Select((word, id) => (word, id)).ToDictionary(p => p.word, p => p.id, StringComparer.Ordinal);
    }

    /// <summary>The words, index = id.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>Tokens per prompt (longer prompts are truncated).</summary>
    public int MaxLength { get; }

    /// <summary>Reads <c>vocab.json</c> (a JSON list of words) from a tokenizer folder.</summary>
    public static WordTokenizer Load(string folder, int maxLength)
    {
        string path = Path.Combine(folder, "vocab.json");
        if (!File.Exists(path))
        {
            throw new RasInputException($"{folder}: tokenizer vocabulary vocab.json not found");
        }

        try
        {
            string[] words = JsonSerializer.Deserialize<string[]>(File.ReadAllText(path))
                ?? throw new ConfigException(path, null, "must be a JSON list of words");
            return new WordTokenizer(words, maxLength);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new ConfigException(path, null, $"not a valid vocabulary ({e.Message})", e);
        }
    }

    /// <summary>Tokenizes <paramref name="prompt"/>; an empty prompt gives the single <see cref="EmptyId"/> token.</summary>
    public TokenizedPrompt Encode(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        string[] words = prompt.ToLowerInvariant()
            .Split((char[])[' ', '\t', '\n', '\r', ',', '.'], StringSplitOptions.RemoveEmptyEntries);
        var result = new long[MaxLength];
        var unknown = new List<string>();
        if (words.Length == 0)
        {
            result[0] = EmptyId;
            return new TokenizedPrompt(result, unknown, false);
        }

        int count = Math.Min(words.Length, MaxLength);
        for (int i = 0; i < count; i++)
        {
            if (ids.TryGetValue(words[i], out int id) && id >= SpecialTokens.Count)
            {
                result[i] = id;
            }
            else
            {
                result[i] = UnknownId;
                unknown.Add(words[i]);
            }
        }

        return new TokenizedPrompt(result, unknown, words.Length > MaxLength);
    }
}

using Microsoft.ML.Tokenizers;
using Ras.Errors;

namespace Ras.Tokenizers.Clip;

/// <summary>
/// SD3's <c>tokenizer</c> and <c>tokenizer_2</c>: transformers' slow <c>CLIPTokenizer</c> (models/clip/tokenization_clip.py,
/// without ftfy), called as <c>StableDiffusion3Pipeline._get_clip_prompt_embeds</c> calls it (diffusers 0.32).
/// Added tokens are cut out of the raw text first; each remaining piece is cleaned (<see cref="ClipTextCleaner"/>),
/// pre-tokenized (<see cref="ClipPreTokenizer"/>) and BPE-encoded over GPT-2's byte alphabet with <c>&lt;/w&gt;</c>
/// word ends (Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>). Special tokens, their ids and the padding side come
/// from the folder's own files, so <c>tokenizer_2</c>'s pad token <c>"!"</c> is an added token there (id 0) and
/// never reaches BPE.
/// </summary>
public sealed class CLIPTokenizer
{
    // CLIPTokenizer.__init__'s defaults, used when the config files name no such token.
    private const string DefaultBos = "<|startoftext|>", DefaultEos = "<|endoftext|>", DefaultUnk = "<|endoftext|>", DefaultPad = "<|endoftext|>";

    private readonly BpeTokenizer bpe;
    private readonly (string Content, int Id)[] addedTokens;       // longest first: the split takes the longest match
    private readonly Dictionary<int, string> tokensById;
    private readonly HashSet<string> standaloneTokens;
    private readonly bool cleanUpSpaces;

    private CLIPTokenizer(BpeTokenizer bpe, (string Content, int Id)[] addedTokens, Dictionary<int, string> tokensById,
        HashSet<string> standaloneTokens, bool cleanUpSpaces)
    {
        this.bpe = bpe;
        this.addedTokens = addedTokens;
        this.tokensById = tokensById;
        this.standaloneTokens = standaloneTokens;
        this.cleanUpSpaces = cleanUpSpaces;
    }

    /// <summary>Id of the beginning-of-text token (<c>bos_token</c>).</summary>
    public int BosTokenId { get; private init; }

    /// <summary>Id of the end-of-text token (<c>eos_token</c>).</summary>
    public int EosTokenId { get; private init; }

    /// <summary>Id rows are padded with (<c>pad_token</c>): 49407 for SD3's <c>tokenizer</c>, 0 (<c>"!"</c>) for <c>tokenizer_2</c>.</summary>
    public int PadTokenId { get; private init; }

    /// <summary>Id of the unknown token (<c>unk_token</c>); byte-level BPE never produces it.</summary>
    public int UnknownTokenId { get; private init; }

    /// <summary>Row length used by <see cref="Encode(string)"/>: <c>model_max_length</c> (77 when the config has none).</summary>
    public int ModelMaxLength { get; private init; }

    /// <summary>Where padding goes (<c>padding_side</c>).</summary>
    public SequenceSide PaddingSide { get; private init; }

    /// <summary>Which end truncation cuts (<c>truncation_side</c>).</summary>
    public SequenceSide TruncationSide { get; private init; }

    /// <summary>
    /// Loads a transformers CLIP tokenizer folder: <c>vocab.json</c>, <c>merges.txt</c>, <c>tokenizer_config.json</c>
    /// and, if present, <c>special_tokens_map.json</c>.
    /// </summary>
    /// <exception cref="ConfigException">A file is missing or malformed (the message names it).</exception>
    public static CLIPTokenizer FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new RasInputException($"{folder}: tokenizer folder not found");
        }

        string vocab = Path.Combine(folder, "vocab.json");
        if (!File.Exists(vocab) && File.Exists(Path.Combine(folder, "tokenizer.json")))
        {
            throw new ConfigException(vocab, null, "file not found; the folder has only a fast-tokenizer tokenizer.json, which is not supported (CLIP needs vocab.json and merges.txt)");
        }

        return FromFiles(vocab, Path.Combine(folder, "merges.txt"), Path.Combine(folder, "tokenizer_config.json"),
            Path.Combine(folder, "special_tokens_map.json") is var map && File.Exists(map) ? map : null);
    }

    /// <summary>Loads a CLIP tokenizer from explicitly named files (e.g. two configs sharing one vocabulary).</summary>
    /// <param name="vocabJsonPath"><c>vocab.json</c>: <c>{token: id}</c>.</param>
    /// <param name="mergesTxtPath"><c>merges.txt</c>: a header line, then one merge per line in rank order.</param>
    /// <param name="tokenizerConfigPath"><c>tokenizer_config.json</c>: special tokens, <c>added_tokens_decoder</c>, <c>model_max_length</c>, sides.</param>
    /// <param name="specialTokensMapPath">Optional <c>special_tokens_map.json</c>, whose tokens override the config's.</param>
    /// <exception cref="ConfigException">A file is missing or malformed (the message names it).</exception>
    public static CLIPTokenizer FromFiles(string vocabJsonPath, string mergesTxtPath, string tokenizerConfigPath, string? specialTokensMapPath = null)
    {
        ArgumentNullException.ThrowIfNull(vocabJsonPath);
        ArgumentNullException.ThrowIfNull(mergesTxtPath);
        ArgumentNullException.ThrowIfNull(tokenizerConfigPath);
        Dictionary<string, int> vocabulary = ClipBpeFiles.ReadVocabulary(vocabJsonPath);
        List<string> merges = ClipBpeFiles.ReadMerges(mergesTxtPath, vocabulary, vocabJsonPath);
        ClipBpeFiles.RequireFile(tokenizerConfigPath);
        if (specialTokensMapPath is not null)
        {
            ClipBpeFiles.RequireFile(specialTokensMapPath);
        }

        var config = HuggingFaceTokenizerConfig.Load(tokenizerConfigPath, specialTokensMapPath);

        // Added tokens: added_tokens_decoder, then every special token (transformers adds those to the trie too,
        // with their vocabulary id). The config's ids win over the vocabulary's.
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedTokenDeclaration token in config.AddedTokens)
        {
            added[token.Content] = token.Id;
        }

        int IdOf(SpecialTokenDeclaration? declared, string fallback)
        {
            string content = declared?.Content ?? fallback;
            if (added.TryGetValue(content, out int id) || vocabulary.TryGetValue(content, out id))
            {
                added.TryAdd(content, id);
                return id;
            }

            throw declared is null
                ? new ConfigException(vocabJsonPath, null, $"lacks '{content}', CLIPTokenizer's default special token (the config files name none)")
                : new ConfigException(declared.FilePath, declared.Field, $"'{content}' is neither in {vocabJsonPath} nor in added_tokens_decoder");
        }

        int bos = IdOf(config.Special("bos_token"), DefaultBos);
        int eos = IdOf(config.Special("eos_token"), DefaultEos);
        int unk = IdOf(config.Special("unk_token"), DefaultUnk);
        int pad = IdOf(config.Special("pad_token"), DefaultPad);
        var specialContents = new HashSet<string>(StringComparer.Ordinal) { Content(config, "bos_token", DefaultBos), Content(config, "eos_token", DefaultEos), Content(config, "unk_token", DefaultUnk), Content(config, "pad_token", DefaultPad) };
        foreach (SpecialTokenDeclaration declared in config.AllSpecialTokens())
        {
            IdOf(declared, declared.Content);
            specialContents.Add(declared.Content);
        }

        // Decoding keeps added tokens that are not special apart (transformers' "legacy added tokens").
        var standalone = added.Keys.Where(t => !specialContents.Contains(t))
            .Concat(config.AdditionalSpecialTokens.Select(t => t.Content).Where(t => added[t] >= vocabulary.Count))
            .ToHashSet(StringComparer.Ordinal);

        var tokensById = vocabulary.ToDictionary(kv => kv.Value, kv => kv.Key);
        foreach ((string content, int id) in added)
        {
            tokensById[id] = content;
        }

        return new CLIPTokenizer(CreateBpe(vocabulary, merges, unk), [.. added.OrderByDescending(kv => kv.Key.Length).Select(kv => (kv.Key, kv.Value))],
            tokensById, standalone, config.CleanUpTokenizationSpaces)
        {
            BosTokenId = bos,
            EosTokenId = eos,
            PadTokenId = pad,
            UnknownTokenId = unk,
            ModelMaxLength = config.ModelMaxLength ?? 77,
            PaddingSide = config.PaddingSide,
            TruncationSide = config.TruncationSide,
        };
    }

    /// <summary>The token strings of <paramref name="text"/>, without BOS/EOS (transformers' <c>tok.tokenize(text)</c>).</summary>
    public IReadOnlyList<string> Tokenize(string text) => TokenizeCore(text).Select(t => t.Token).ToArray();

    /// <summary>The content ids of <paramref name="text"/>, without BOS/EOS, untruncated.</summary>
    public int[] EncodeContent(string text) => TokenizeCore(text).Select(t => t.Id).ToArray();

    /// <summary>The <see cref="ModelMaxLength"/>-long row (77 for SD3) and the truncation information.</summary>
    public TokenizedPrompt Encode(string text) => Encode(text, ModelMaxLength);

    /// <summary>
    /// <c>tok(text, padding="max_length", max_length=maxLength, truncation=True)</c>: <c>[BOS] + ids[:maxLength-2] + [EOS]</c>
    /// padded with <see cref="PadTokenId"/>; the untruncated ids are <c>[BOS] + ids + [EOS]</c>. The removed text is what
    /// diffusers logs, <c>batch_decode(untruncated_ids[:, maxLength-1:-1])</c>.
    /// </summary>
    public TokenizedPrompt Encode(string text, int maxLength)
    {
        var (row, untruncated, truncated, removed) = FixedLengthRow.Build(EncodeContent(text), [BosTokenId], [EosTokenId],
            PadTokenId, maxLength, PaddingSide, TruncationSide, removedStart: maxLength - 1);
        return new TokenizedPrompt(row, untruncated, truncated, truncated ? Decode(removed) : null);
    }

    /// <summary>transformers' <c>tok.decode(ids)</c> (special tokens kept, tokenization spaces cleaned up if the config says so).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id has no token.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = ids.Select(id => tokensById.TryGetValue(id, out string? token) ? token
            : throw new ArgumentOutOfRangeException(nameof(ids), id, "no token has this id"));
        return ClipDecoding.Decode(tokens, standaloneTokens, cleanUpSpaces);
    }

    private List<(int Id, string Token)> TokenizeCore(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<(int, string)>();
        int pieceStart = 0;
        for (int i = 0; i < text.Length;)
        {
            (string Content, int Id) match = Array.Find(addedTokens, a => text.AsSpan(i).StartsWith(a.Content, StringComparison.Ordinal));
            if (match.Content is null)
            {
                i++;
                continue;
            }

            EncodePiece(text[pieceStart..i], result);
            result.Add((match.Id, match.Content));
            i += match.Content.Length;
            pieceStart = i;
        }

        EncodePiece(text[pieceStart..], result);
        return result;
    }

    /// <summary>One stretch between added tokens: cleanup, pre-tokenization and BPE (through the library's pipeline).</summary>
    private void EncodePiece(string piece, List<(int, string)> result)
    {
        if (piece.Length > 0)
        {
            result.AddRange(bpe.EncodeToTokens(piece, out _).Select(t => (t.Id, t.Value)));
        }
    }

    private static string Content(HuggingFaceTokenizerConfig config, string field, string fallback) => config.Special(field)?.Content ?? fallback;

    private static BpeTokenizer CreateBpe(Dictionary<string, int> vocabulary, List<string> merges, int unknownId)
    {
        // CLIPTokenizer's regex and its pre-seeded BPE cache know "<|startoftext|>" and "<|endoftext|>" by name: a
        // pre-token equal to one (e.g. left after cleanup of "<|end\u200boftext|>") maps straight to its vocabulary id.
        var named = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["<|startoftext|>"] = vocabulary.GetValueOrDefault("<|startoftext|>", unknownId),
            ["<|endoftext|>"] = vocabulary.GetValueOrDefault("<|endoftext|>", unknownId),
        };
        return BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = true,             // UTF-8 bytes through GPT-2's byte alphabet
            EndOfWordSuffix = "</w>",     // appended to the last symbol of each pre-token
            SpecialTokens = named,
            Normalizer = ClipNormalizer.Instance,
            PreTokenizer = ClipPreTokenizer.Instance,
        });
    }
}

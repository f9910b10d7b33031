using Ras.Errors;
using Ras.Tokenizers.SentencePiece;

namespace Ras.Tokenizers.Gemma;

/// <summary>
/// Lumina-Next's <c>tokenizer</c>: transformers' <c>GemmaTokenizer</c> (models/gemma/tokenization_gemma.py) over the
/// folder's SentencePiece BPE model (<c>tokenizer.model</c>, our own <see cref="SentencePieceModel"/>), called as
/// <c>LuminaText2ImgPipeline</c> calls it (diffusers 0.32). Added and special tokens are cut out of the raw text first
/// (verbatim, case-sensitive, no stripping); each remaining chunk is encoded on its own by SentencePiece with the
/// model's own normalizer; BOS (and EOS) are added as <c>add_bos_token</c> / <c>add_eos_token</c> say. Special ids,
/// sides and flags come from <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c>, never from constants.
/// </summary>
public sealed class GemmaTokenizer
{
    /// <summary>Lumina's <c>max_sequence_length</c>: prompts are cut to this many ids, BOS included.</summary>
    public const int LuminaMaxLength = 256;

    /// <summary>Lumina's <c>pad_to_multiple_of</c> for prompt rows.</summary>
    public const int LuminaPadToMultipleOf = 8;

    // GemmaTokenizer.__init__'s defaults, used when the config files name no such token.
    private const string DefaultBos = "<bos>", DefaultEos = "<eos>", DefaultUnk = "<unk>", DefaultPad = "<pad>";

    private readonly (string Content, int Id)[] addedTokens;   // longest first: the split takes the longest match
    private readonly Dictionary<int, string> addedById;

    private GemmaTokenizer(SentencePieceModel model, (string Content, int Id)[] addedTokens)
    {
        Model = model;
        this.addedTokens = addedTokens;
        addedById = [];
        foreach ((string content, int id) in addedTokens)
        {
            addedById.TryAdd(id, content);
        }
    }

    /// <summary>The SentencePiece model.</summary>
    public SentencePieceModel Model { get; }

    /// <summary>Id of <c>bos_token</c> (2 in Gemma's vocabulary).</summary>
    public int BosTokenId { get; private init; }

    /// <summary>Id of <c>eos_token</c> (1 in Gemma's vocabulary).</summary>
    public int EosTokenId { get; private init; }

    /// <summary>Id rows are padded with (<c>pad_token</c>; 0 in Gemma's vocabulary).</summary>
    public int PadTokenId { get; private init; }

    /// <summary>Id of <c>unk_token</c>.</summary>
    public int UnknownTokenId { get; private init; }

    /// <summary><c>add_bos_token</c> (default true): BOS starts every row.</summary>
    public bool AddBosToken { get; private init; }

    /// <summary><c>add_eos_token</c> (default false): EOS ends every row's content.</summary>
    public bool AddEosToken { get; private init; }

    /// <summary>Where padding goes: the config's <c>padding_side</c>, else left (<c>GemmaTokenizerFast</c>'s default, which Lumina loads).</summary>
    public SequenceSide PaddingSide { get; private init; }

    /// <summary>Which end truncation cuts (<c>truncation_side</c>, default right).</summary>
    public SequenceSide TruncationSide { get; private init; }

    /// <summary>
    /// Loads a transformers Gemma tokenizer folder: <c>tokenizer.model</c> and, if present, <c>tokenizer_config.json</c>
    /// and <c>special_tokens_map.json</c> (special tokens, <c>added_tokens_decoder</c>, <c>add_bos_token</c>,
    /// <c>add_eos_token</c>, <c>padding_side</c>, <c>truncation_side</c>). Special tokens the files do not name take
    /// <c>GemmaTokenizer</c>'s defaults (<c>&lt;bos&gt;</c>, <c>&lt;eos&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;pad&gt;</c>), looked up in the model.
    /// </summary>
    /// <exception cref="RasInputException">The folder does not exist.</exception>
    /// <exception cref="ConfigException">A file is missing or malformed, or a special token is not in the vocabulary (the message names the file).</exception>
    public static GemmaTokenizer FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new RasInputException($"{folder}: tokenizer folder not found");
        }

        string modelPath = Path.Combine(folder, "tokenizer.model");
        if (!File.Exists(modelPath))
        {
            throw new ConfigException(modelPath, null, File.Exists(Path.Combine(folder, "tokenizer.json"))
                ? "file not found; the folder has only a fast-tokenizer tokenizer.json, which is not supported (the SentencePiece model tokenizer.model is needed)"
                : "file not found (a Gemma tokenizer folder holds the SentencePiece model tokenizer.model)");
        }

        SentencePieceModel model = SentencePieceModel.Load(modelPath);
        var config = HuggingFaceTokenizerConfig.Load(Path.Combine(folder, "tokenizer_config.json"), Path.Combine(folder, "special_tokens_map.json"));

        // Added tokens: added_tokens_decoder, then every special token (transformers puts those in its split trie too,
        // with their vocabulary id). The config's ids win over the model's.
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedTokenDeclaration token in config.AddedTokens)
        {
            added[token.Content] = token.Id;
        }

        int IdOf(SpecialTokenDeclaration? declared, string fallback)
        {
            string content = declared?.Content ?? fallback;
            int? id = added.TryGetValue(content, out int addedId) ? addedId : model.PieceToId(content);
            if (id is null)
            {
                throw declared is null
                    ? new ConfigException(modelPath, null, $"lacks '{content}', GemmaTokenizer's default special token (the config files name none)")
                    : new ConfigException(declared.FilePath, declared.Field, $"'{content}' is neither a piece of {Path.GetFileName(modelPath)} nor in added_tokens_decoder");
            }

            added.TryAdd(content, id.Value);
            return id.Value;
        }

        int bos = IdOf(config.Special("bos_token"), DefaultBos);
        int eos = IdOf(config.Special("eos_token"), DefaultEos);
        int unk = IdOf(config.Special("unk_token"), DefaultUnk);
        int pad = IdOf(config.Special("pad_token"), DefaultPad);
        foreach (SpecialTokenDeclaration declared in config.AllSpecialTokens())
        {
            IdOf(declared, declared.Content);
        }

        return new GemmaTokenizer(model, [.. added.OrderByDescending(kv => kv.Key.Length).Select(kv => (kv.Key, kv.Value))])
        {
            BosTokenId = bos,
            EosTokenId = eos,
            UnknownTokenId = unk,
            PadTokenId = pad,
            AddBosToken = config.AddBosToken ?? true,
            AddEosToken = config.AddEosToken ?? false,
            PaddingSide = config.DeclaredPaddingSide ?? SequenceSide.Left,
            TruncationSide = config.TruncationSide,
        };
    }

    /// <summary>The content ids of <paramref name="text"/>: added tokens cut out, each chunk between them SentencePiece-encoded; no BOS/EOS.</summary>
    public int[] EncodeContent(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        int chunkStart = 0;
        for (int i = 0; i < text.Length;)
        {
            (string Content, int Id) match = Array.Find(addedTokens, a => text.AsSpan(i).StartsWith(a.Content, StringComparison.Ordinal));
            if (match.Content is null)
            {
                i++;
                continue;
            }

            ids.AddRange(Model.Encode(text[chunkStart..i]));
            ids.Add(match.Id);
            i += match.Content.Length;
            chunkStart = i;
        }

        ids.AddRange(Model.Encode(text[chunkStart..]));
        return [.. ids];
    }

    /// <summary><c>tokenizer(text).input_ids</c>: BOS (if added), the content ids, EOS (if added); no padding or truncation.</summary>
    public int[] EncodeIds(string text) => [.. Prefix, .. EncodeContent(text), .. Suffix];

    /// <summary>
    /// One prompt as Lumina tokenizes it. Without <paramref name="maxLength"/>, the prompt call
    /// <c>tokenizer(text, pad_to_multiple_of=8, max_length=256, truncation=True, padding=True)</c>: at most 256 ids,
    /// padded up to a multiple of 8 (<c>""</c> gives 8). With it, the negative-prompt call
    /// <c>tokenizer(text, padding="max_length", max_length=maxLength, truncation=True)</c>. Lumina lower-cases and strips
    /// the prompt (not the negative) first: see <see cref="LuminaTextPreprocessing"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room for the special tokens.</exception>
    public GemmaTokenizedPrompt Encode(string text, int? maxLength = null) => EncodeBatch([text], maxLength)[0];

    /// <summary>
    /// Several prompts in one call, as <see cref="Encode"/> but padded to a common length: without
    /// <paramref name="maxLength"/> the longest row (at most 256) rounded up to a multiple of 8, else
    /// <paramref name="maxLength"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> leaves no room for the special tokens.</exception>
    public IReadOnlyList<GemmaTokenizedPrompt> EncodeBatch(IReadOnlyList<string> texts, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int[][] contents = [.. texts.Select(EncodeContent)];
        int specials = Prefix.Length + Suffix.Length;
        int length = maxLength ?? RoundUp(Math.Min(contents.Select(c => c.Length + specials).DefaultIfEmpty(0).Max(), LuminaMaxLength), LuminaPadToMultipleOf);
        int removedStart = (maxLength ?? LuminaMaxLength) - 1;    // diffusers decodes untruncated_ids[:, max_length - 1 : -1]
        return contents.Select(content =>
        {
            var (row, untruncated, truncated, removed) = FixedLengthRow.Build(content, Prefix, Suffix, PadTokenId, length,
                PaddingSide, TruncationSide, removedStart);
            int kept = Math.Min(untruncated.Length, length);
            int[] mask = new int[length];
            mask.AsSpan(PaddingSide == SequenceSide.Left ? length - kept : 0, kept).Fill(1);
            return new GemmaTokenizedPrompt(row, mask, untruncated, truncated, truncated ? Decode(removed) : null);
        }).ToArray();
    }

    /// <summary>
    /// transformers' <c>GemmaTokenizer.decode(ids)</c>: added and special tokens as their text, every run of other ids
    /// through SentencePiece's decoder (<c>clean_up_tokenization_spaces</c> off, Gemma's default).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var text = new System.Text.StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (addedById.TryGetValue(id, out string? content))
            {
                text.Append(Model.Decode(run)).Append(content);
                run.Clear();
            }
            else
            {
                run.Add(id);
            }
        }

        return text.Append(Model.Decode(run)).ToString();
    }

    private int[] Prefix => AddBosToken ? [BosTokenId] : [];

    private int[] Suffix => AddEosToken ? [EosTokenId] : [];

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}

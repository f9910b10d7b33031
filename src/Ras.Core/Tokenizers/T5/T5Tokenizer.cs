using Ras.Errors;
using Ras.Tokenizers.SentencePiece;

namespace Ras.Tokenizers.T5;

/// <summary>
/// SD3's <c>tokenizer_3</c> (T5 v1.1's SentencePiece unigram model), called as
/// <c>StableDiffusion3Pipeline._get_t5_prompt_embeds</c> calls it (diffusers 0.32): the SentencePiece ids of the
/// prompt, then EOS, truncated to <c>max_sequence_length</c> (keeping EOS last) and padded. Literal special-token
/// text such as <c>&lt;/s&gt;</c> or <c>&lt;extra_id_0&gt;</c> in a prompt stays plain text, as in raw sentencepiece
/// (transformers' T5 tokenizers would cut it out as a special token).
/// </summary>
public sealed class T5Tokenizer
{
    /// <summary>SD3's default <c>max_sequence_length</c>.</summary>
    public const int DefaultMaxLength = 256;

    /// <summary>Wraps <paramref name="model"/> with the given special ids and sides.</summary>
    /// <param name="model">The SentencePiece model.</param>
    /// <param name="eosTokenId">Appended to every prompt (1 in T5's vocabulary).</param>
    /// <param name="padTokenId">Fills the row after EOS (0 in T5's vocabulary).</param>
    /// <param name="paddingSide">Where padding goes.</param>
    /// <param name="truncationSide">Which end truncation cuts.</param>
    public T5Tokenizer(SentencePieceModel model, int eosTokenId, int padTokenId, SequenceSide paddingSide = SequenceSide.Right, SequenceSide truncationSide = SequenceSide.Right)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        EosTokenId = eosTokenId;
        PadTokenId = padTokenId;
        PaddingSide = paddingSide;
        TruncationSide = truncationSide;
    }

    /// <summary>The SentencePiece model.</summary>
    public SentencePieceModel Model { get; }

    /// <summary>The id appended after the content.</summary>
    public int EosTokenId { get; }

    /// <summary>The id rows are padded with.</summary>
    public int PadTokenId { get; }

    /// <summary>Where padding goes.</summary>
    public SequenceSide PaddingSide { get; }

    /// <summary>Which end truncation cuts.</summary>
    public SequenceSide TruncationSide { get; }

    /// <summary>
    /// Loads a transformers T5 tokenizer folder: <c>spiece.model</c> (or the folder's only <c>*.model</c>) and, if
    /// present, <c>tokenizer_config.json</c> / <c>special_tokens_map.json</c>, whose <c>eos_token</c> and <c>pad_token</c>
    /// are looked up among the model's pieces. Without them the model's own <c>eos_id</c> / <c>pad_id</c> are used.
    /// </summary>
    /// <exception cref="ConfigException">A file is missing or malformed, or a special token cannot be resolved (the message names the file).</exception>
    public static T5Tokenizer FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new RasInputException($"{folder}: tokenizer folder not found");
        }

        string modelPath = FindModel(folder);
        SentencePieceModel model = SentencePieceModel.Load(modelPath);
        var config = HuggingFaceTokenizerConfig.Load(Path.Combine(folder, "tokenizer_config.json"), Path.Combine(folder, "special_tokens_map.json"));
        int eos = Resolve(model, config.Special("eos_token"), model.EosId, "eos_id");
        int pad = Resolve(model, config.Special("pad_token"), model.PadId, "pad_id");
        return new T5Tokenizer(model, eos, pad, config.PaddingSide, config.TruncationSide);
    }

    /// <summary>
    /// <c>tok(text, padding="max_length", max_length=maxLength, truncation=True)</c>: <c>ids[:maxLength-1] + [EOS]</c>
    /// padded to <paramref name="maxLength"/>; untruncated ids are <c>ids + [EOS]</c>. The removed text is the decoded
    /// content that did not fit.
    /// </summary>
    public TokenizedPrompt Encode(string text, int maxLength = DefaultMaxLength)
    {
        var (row, untruncated, truncated, removed) = FixedLengthRow.Build(Model.Encode(text), [], [EosTokenId], PadTokenId,
            maxLength, PaddingSide, TruncationSide, removedStart: maxLength - 1);
        return new TokenizedPrompt(row, untruncated, truncated, truncated ? Model.Decode(removed) : null);
    }

    private static string FindModel(string folder)
    {
        string spiece = Path.Combine(folder, "spiece.model");
        if (File.Exists(spiece))
        {
            return spiece;
        }

        string[] models = Directory.GetFiles(folder, "*.model");
        if (models.Length == 1)
        {
            return models[0];
        }

        string problem = File.Exists(Path.Combine(folder, "tokenizer.json"))
            ? "file not found; the folder has only a fast-tokenizer tokenizer.json, which is not supported (the SentencePiece model spiece.model is needed)"
            : models.Length == 0 ? "file not found (a T5 tokenizer folder holds the SentencePiece model spiece.model)"
            : $"file not found, and the folder holds several *.model files ({string.Join(", ", models.Select(Path.GetFileName))})";
        throw new ConfigException(spiece, null, problem);
    }

    /// <summary>A special token named by the config files, as a piece id; else the model's own id for it.</summary>
    private static int Resolve(SentencePieceModel model, SpecialTokenDeclaration? declared, int modelId, string modelField)
    {
        if (declared is not null)
        {
            return model.PieceToId(declared.Content)
                ?? throw new ConfigException(declared.FilePath, declared.Field, $"'{declared.Content}' is not a piece of {Path.GetFileName(model.Source)}");
        }

        return modelId >= 0 && modelId < model.Pieces.Count
            ? modelId
            : throw new ConfigException(model.Source, $"trainer_spec.{modelField}", $"is {modelId} and no tokenizer_config.json or special_tokens_map.json names the token");
    }
}

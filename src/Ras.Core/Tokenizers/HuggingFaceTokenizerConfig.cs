using Ras.IO.Configs;
using System.Text.Json;
using Ras.Errors;

namespace Ras.Tokenizers;

/// <summary>A special token named by a tokenizer file, and where it was named (for error messages).</summary>
internal sealed record SpecialTokenDeclaration(string Content, string FilePath, string Field);

/// <summary>One entry of <c>added_tokens_decoder</c>: a token string with a fixed id.</summary>
internal sealed record AddedTokenDeclaration(int Id, string Content, bool Special);

/// <summary>
/// What a transformers tokenizer folder's <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> say about
/// special tokens, lengths and sides. Values in <c>special_tokens_map.json</c> override the config's, as
/// <c>PreTrainedTokenizerBase.from_pretrained</c> does. Token values may be strings or <c>AddedToken</c> objects.
/// </summary>
internal sealed class HuggingFaceTokenizerConfig
{
    private static readonly string[] SpecialFields = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    private readonly Dictionary<string, SpecialTokenDeclaration> special = new(StringComparer.Ordinal);

    private HuggingFaceTokenizerConfig()
    {
    }

    /// <summary>The added tokens with fixed ids (<c>added_tokens_decoder</c>), in file order.</summary>
    public IReadOnlyList<AddedTokenDeclaration> AddedTokens { get; private set; } = [];

    /// <summary>The <c>additional_special_tokens</c>.</summary>
    public IReadOnlyList<SpecialTokenDeclaration> AdditionalSpecialTokens { get; private set; } = [];

    /// <summary><c>model_max_length</c>, or null when absent or "unlimited" (transformers writes 1e30 for that).</summary>
    public int? ModelMaxLength { get; private set; }

    /// <summary><c>padding_side</c> (default right).</summary>
    public SequenceSide PaddingSide => DeclaredPaddingSide ?? SequenceSide.Right;

    /// <summary><c>padding_side</c> as the config states it, or null when absent (the tokenizer class decides then).</summary>
    public SequenceSide? DeclaredPaddingSide { get; private set; }

    /// <summary><c>add_bos_token</c>, or null when absent (the tokenizer class decides then).</summary>
    public bool? AddBosToken { get; private set; }

    /// <summary><c>add_eos_token</c>, or null when absent (the tokenizer class decides then).</summary>
    public bool? AddEosToken { get; private set; }

    /// <summary><c>truncation_side</c> (default right).</summary>
    public SequenceSide TruncationSide { get; private set; } = SequenceSide.Right;

    /// <summary><c>clean_up_tokenization_spaces</c> (transformers 4.44 defaults to true).</summary>
    public bool CleanUpTokenizationSpaces { get; private set; } = true;

    /// <summary>The special token of <paramref name="field"/> (e.g. <c>eos_token</c>), or null when no file names one.</summary>
    public SpecialTokenDeclaration? Special(string field) => special.GetValueOrDefault(field);

    /// <summary>Every special token the files name (the fixed fields, then the additional ones).</summary>
    public IEnumerable<SpecialTokenDeclaration> AllSpecialTokens() =>
        SpecialFields.Select(Special).OfType<SpecialTokenDeclaration>().Concat(AdditionalSpecialTokens);

    /// <summary>The largest <c>model_max_length</c> taken as a length; larger values mean "no limit", as transformers' huge default does.</summary>
    public const int MaxModelLength = 1 << 20;

    /// <summary>Reads whichever of the two files exist (a null path or a missing file is skipped).</summary>
    public static HuggingFaceTokenizerConfig Load(string? tokenizerConfigPath, string? specialTokensMapPath)
    {
        var config = new HuggingFaceTokenizerConfig();
        if (tokenizerConfigPath is not null && File.Exists(tokenizerConfigPath))
        {
            config.Read(tokenizerConfigPath, isConfig: true);
        }

        if (specialTokensMapPath is not null && File.Exists(specialTokensMapPath))
        {
            config.Read(specialTokensMapPath, isConfig: false);
        }

        return config;
    }

    private void Read(string path, bool isConfig)
    {
        using JsonDocument document = Parse(path);
        JsonElement root = document.RootElement;
        foreach (string field in SpecialFields)
        {
            if (TryGet(root, field, out JsonElement value))
            {
                special[field] = new SpecialTokenDeclaration(TokenContent(path, field, value), path, field);
            }
        }

        if (TryGet(root, "additional_special_tokens", out JsonElement additional))
        {
            if (additional.ValueKind != JsonValueKind.Array)
            {
                throw new ConfigException(path, "additional_special_tokens", "must be a list");
            }

            AdditionalSpecialTokens = additional.EnumerateArray()
                .Select(item => new SpecialTokenDeclaration(TokenContent(path, "additional_special_tokens", item), path, "additional_special_tokens"))
                .ToArray();
        }

        if (!isConfig)
        {
            return;
        }

        if (TryGet(root, "added_tokens_decoder", out JsonElement decoder))
        {
            AddedTokens = ReadAddedTokens(path, decoder);
        }

        if (TryGet(root, "model_max_length", out JsonElement maxLength))
        {
            // transformers writes a huge number (int(1e30)) for "no limit"; anything past MaxModelLength means the same here,
            // so a corrupt value cannot make an encoder allocate gigabytes of padding.
            ModelMaxLength = maxLength.ValueKind == JsonValueKind.Number
                ? (maxLength.TryGetInt32(out int n) && n > 0 && n <= MaxModelLength ? n : null)
                : throw new ConfigException(path, "model_max_length", $"must be a number, found {maxLength.ValueKind.ToString().ToLowerInvariant()}");
        }

        DeclaredPaddingSide = ReadSide(path, root, "padding_side");
        TruncationSide = ReadSide(path, root, "truncation_side") ?? SequenceSide.Right;
        CleanUpTokenizationSpaces = ReadBool(path, root, "clean_up_tokenization_spaces") ?? CleanUpTokenizationSpaces;
        AddBosToken = ReadBool(path, root, "add_bos_token");
        AddEosToken = ReadBool(path, root, "add_eos_token");
    }

    private static bool? ReadBool(string path, JsonElement root, string field)
    {
        if (!TryGet(root, field, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ConfigException(path, field, "must be true or false"),
        };
    }

    private static JsonDocument Parse(string path)
    {
        try
        {
            JsonDocument document = JsonDocument.Parse(TextFiles.ReadUtf8(path, TextFiles.MaxJsonBytes, problem => new ConfigException(path, null, problem)));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new ConfigException(path, null, "must hold a JSON object");
            }

            return document;
        }
        catch (JsonException e)
        {
            throw new ConfigException(path, null, $"not valid JSON ({e.Message})", e);
        }
    }

    private static AddedTokenDeclaration[] ReadAddedTokens(string path, JsonElement decoder)
    {
        if (decoder.ValueKind != JsonValueKind.Object)
        {
            throw new ConfigException(path, "added_tokens_decoder", "must be an object mapping ids to tokens");
        }

        var tokens = new List<AddedTokenDeclaration>();
        foreach (JsonProperty entry in decoder.EnumerateObject())
        {
            string field = $"added_tokens_decoder.{entry.Name}";
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
            {
                throw new ConfigException(path, field, "the key must be a non-negative integer id");
            }

            bool isSpecial = entry.Value.ValueKind == JsonValueKind.Object
                && entry.Value.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True;
            tokens.Add(new AddedTokenDeclaration(id, TokenContent(path, field, entry.Value), isSpecial));
        }

        return [.. tokens];
    }

    private static SequenceSide? ReadSide(string path, JsonElement root, string field)
    {
        if (!TryGet(root, field, out JsonElement value))
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() switch
        {
            "right" => SequenceSide.Right,
            "left" => SequenceSide.Left,
            var other => throw new ConfigException(path, field, $"must be \"right\" or \"left\", found \"{other}\""),
        }
        : throw new ConfigException(path, field, "must be \"right\" or \"left\"");
    }

    /// <summary>A token given as a string or as an <c>AddedToken</c> object (its <c>content</c>).</summary>
    private static string TokenContent(string path, string field, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString()!;
        }

        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out JsonElement content) && content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        throw new ConfigException(path, field, "must be a string or an object with a string \"content\"");
    }

    private static bool TryGet(JsonElement root, string field, out JsonElement value) =>
        root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;
}

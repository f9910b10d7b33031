using Ras.Errors;
using Ras.Tokenizers;
using Ras.Tokenizers.Gemma;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Tokenizers;

/// <summary>How a Gemma tokenizer folder's files drive <see cref="GemmaTokenizer"/>, and clear errors for broken folders.</summary>
public sealed class GemmaTokenizerFolderTests : IDisposable
{
    private const string StandInSpecials = """{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>"}""";

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Special_ids_and_defaults_come_from_the_files()
    {
        var tokenizer = GemmaTokenizer.FromFolder(Folder(StandInSpecials));
        Assert.Equal(tokenizer.Model.PieceToId("<s>"), tokenizer.BosTokenId);
        Assert.Equal(tokenizer.Model.PieceToId("</s>"), tokenizer.EosTokenId);
        Assert.Equal(tokenizer.Model.PieceToId("<unk>"), tokenizer.UnknownTokenId);
        Assert.Equal(tokenizer.Model.PieceToId("<unk>"), tokenizer.PadTokenId);
        Assert.True(tokenizer.AddBosToken);
        Assert.False(tokenizer.AddEosToken);
        Assert.Equal(SequenceSide.Left, tokenizer.PaddingSide);    // GemmaTokenizerFast's default when the config has none
        Assert.Equal(SequenceSide.Right, tokenizer.TruncationSide);
        Assert.Equal([tokenizer.BosTokenId, .. tokenizer.Model.Encode("a cat")], tokenizer.EncodeIds("a cat"));
    }

    [Fact]
    public void Special_tokens_map_overrides_the_config()
    {
        string folder = Folder(StandInSpecials);
        File.WriteAllText(Path.Combine(folder, "special_tokens_map.json"), """{"pad_token": "</s>"}""");
        var tokenizer = GemmaTokenizer.FromFolder(folder);
        Assert.Equal(tokenizer.EosTokenId, tokenizer.PadTokenId);
        Assert.Equal(tokenizer.EosTokenId, tokenizer.Encode("a cat").InputIds[0]);
    }

    [Fact]
    public void Add_bos_false_and_add_eos_true_are_honoured_also_under_truncation()
    {
        var tokenizer = GemmaTokenizer.FromFolder(Folder(StandInSpecials[..^1] + """, "add_bos_token": false, "add_eos_token": true, "padding_side": "right"}"""));
        int[] content = tokenizer.Model.Encode("a photo of a cat");
        Assert.Equal([.. content, tokenizer.EosTokenId], tokenizer.EncodeIds("a photo of a cat"));

        GemmaTokenizedPrompt cut = tokenizer.Encode("a photo of a cat", 4);
        Assert.Equal([.. content[..3], tokenizer.EosTokenId], cut.InputIds);
        Assert.True(cut.Truncated);
        Assert.Equal(tokenizer.Decode(content[3..]), cut.RemovedText);

        GemmaTokenizedPrompt prompt = tokenizer.Encode("a photo of a cat");
        int length = (content.Length + 1 + 7) / 8 * 8;   // content + EOS rounded up to a multiple of 8
        Assert.Equal(length, prompt.InputIds.Length);
        Assert.Equal([.. content, tokenizer.EosTokenId, .. Enumerable.Repeat(tokenizer.PadTokenId, length - content.Length - 1)], prompt.InputIds);
    }

    [Fact]
    public void Added_tokens_are_cut_out_before_sentencepiece()
    {
        var tokenizer = GemmaTokenizer.FromFolder(Folder("""{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>", "added_tokens_decoder": {"1000": {"content": "<start_of_turn>", "special": true}}}"""));
        int[] ids = tokenizer.EncodeIds("a cat<start_of_turn>a dog");
        Assert.Equal([tokenizer.BosTokenId, .. tokenizer.Model.Encode("a cat"), 1000, .. tokenizer.Model.Encode("a dog")], ids);
        Assert.Equal("a cat<start_of_turn>a dog", tokenizer.Decode(ids[1..]));
    }

    [Fact]
    public void Prompts_longer_than_lumina_allows_keep_256_ids()
    {
        var tokenizer = GemmaTokenizer.FromFolder(Folder(StandInSpecials));
        string text = string.Join(' ', Enumerable.Repeat("a red rose", 200));
        GemmaTokenizedPrompt prompt = tokenizer.Encode(text);
        Assert.Equal(GemmaTokenizer.LuminaMaxLength, prompt.InputIds.Length);
        Assert.Equal(prompt.UntruncatedIds[..GemmaTokenizer.LuminaMaxLength], prompt.InputIds);
        Assert.All(prompt.AttentionMask, m => Assert.Equal(1, m));
        Assert.True(prompt.Truncated);
    }

    [Fact]
    public void Missing_folder_is_an_input_error()
    {
        var error = Assert.ThrowsAny<RasInputException>(() => GemmaTokenizer.FromFolder(temp.File("absent")));
        Assert.Contains("absent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_without_tokenizer_model_says_what_is_needed()
    {
        var error = Assert.Throws<ConfigException>(() => GemmaTokenizer.FromFolder(temp.Path));
        Assert.Contains("tokenizer.model", error.Message, StringComparison.Ordinal);

        File.WriteAllText(temp.File("tokenizer.json"), "{}");
        error = Assert.Throws<ConfigException>(() => GemmaTokenizer.FromFolder(temp.Path));
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_special_tokens_missing_from_the_model_name_the_model_file()
    {
        string folder = Folder(null);   // the stand-in has <s>, not GemmaTokenizer's default <bos>
        var error = Assert.Throws<ConfigException>(() => GemmaTokenizer.FromFolder(folder));
        Assert.Equal(Path.Combine(folder, "tokenizer.model"), error.FilePath);
        Assert.Contains("<bos>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Special_token_not_in_the_vocabulary_names_file_and_field()
    {
        string folder = Folder("""{"bos_token": "<bos>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>"}""");
        var error = Assert.Throws<ConfigException>(() => GemmaTokenizer.FromFolder(folder));
        Assert.Equal(Path.Combine(folder, "tokenizer_config.json"), error.FilePath);
        Assert.Equal("bos_token", error.Field);
    }

    [Fact]
    public void Flags_of_the_wrong_type_name_file_and_field()
    {
        string folder = Folder(StandInSpecials[..^1] + """, "add_bos_token": "yes"}""");
        var error = Assert.Throws<ConfigException>(() => GemmaTokenizer.FromFolder(folder));
        Assert.Equal("add_bos_token", error.Field);
    }

    [Fact]
    public void Truncated_model_file_is_an_error_naming_it()
    {
        string folder = Folder(StandInSpecials);
        string model = Path.Combine(folder, "tokenizer.model");
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..^3]);   // inside the last field, the normalizer spec
        var error = Assert.ThrowsAny<RasInputException>(() => GemmaTokenizer.FromFolder(folder));
        Assert.Contains(model, error.Message, StringComparison.Ordinal);
    }

    /// <summary>A folder with a Gemma-like BPE stand-in (<c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;unk&gt;</c>) as <c>tokenizer.model</c> and, unless null, this <c>tokenizer_config.json</c>.</summary>
    private string Folder(string? tokenizerConfig)
    {
        string folder = temp.File($"tok{Directory.GetDirectories(temp.Path).Length}");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), StandInSentencePiece.GemmaLikeBpe());
        if (tokenizerConfig is not null)
        {
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), tokenizerConfig);
        }

        return folder;
    }
}

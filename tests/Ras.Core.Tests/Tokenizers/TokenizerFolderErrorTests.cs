using Ras.Errors;
using Ras.Tokenizers.Clip;
using Ras.Tokenizers.T5;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Tokenizers;

/// <summary>Broken tokenizer folders fail with a message naming the file, never with a crash deep inside.</summary>
public sealed class TokenizerFolderErrorTests
{
    [Fact]
    public void Clip_folder_with_only_a_fast_tokenizer_json_names_the_missing_vocab()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("tokenizer.json"), "{}");
        var error = Assert.Throws<ConfigException>(() => CLIPTokenizer.FromFolder(temp.Path));
        Assert.Contains("vocab.json", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clip_vocab_that_is_not_json_names_the_file()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("vocab.json"), "{\"a\": 0, ");
        File.WriteAllText(temp.File("merges.txt"), "#version: 0.2\n");
        File.WriteAllText(temp.File("tokenizer_config.json"), "{}");
        var error = Assert.ThrowsAny<RasInputException>(() => CLIPTokenizer.FromFolder(temp.Path));
        Assert.Contains(temp.File("vocab.json"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void T5_folder_without_a_sentencepiece_model_says_what_is_needed()
    {
        using var temp = new TempDirectory();
        var error = Assert.Throws<ConfigException>(() => T5Tokenizer.FromFolder(temp.Path));
        Assert.Contains("spiece.model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_sentencepiece_model_is_an_error_naming_the_file()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("spiece.model"), StandInSentencePiece.T5LikeUnigram()[..^3]);   // inside the last field
        var error = Assert.ThrowsAny<RasInputException>(() => T5Tokenizer.FromFolder(temp.Path));
        Assert.Contains("spiece.model", error.Message, StringComparison.Ordinal);
    }
}

using Ras.Models.Shapes;

namespace Ras.Tests.Models.Shapes;

public sealed class WordTokenizerTests
{
    private static readonly WordTokenizer Tokenizer = new(ShapesModelDefinition.Vocabulary, ShapesModelDefinition.PromptLength);

    [Fact]
    public void Known_words_map_to_their_ids_and_the_rest_is_padding()
    {
        var result = Tokenizer.Encode("A small RED circle at the center on a blue background");
        var words = "a small red circle at the center on a blue background".Split(' ');
        Assert.Equal(words.Select(w => (long)Tokenizer.Vocabulary.ToList().IndexOf(w)), result.Ids.Take(words.Length));
        Assert.All(result.Ids.Skip(words.Length), id => Assert.Equal(WordTokenizer.PadId, id));
        Assert.Empty(result.UnknownWords);
        Assert.False(result.Truncated);
    }

    [Fact]
    public void Unknown_words_become_the_unknown_id_and_are_reported()
    {
        var result = Tokenizer.Encode("a small teal circle, at the moon");
        Assert.Equal(WordTokenizer.UnknownId, result.Ids[2]);
        Assert.Equal(WordTokenizer.UnknownId, result.Ids[6]);
        Assert.Equal(["teal", "moon"], result.UnknownWords);
        Assert.Equal(WordTokenizer.UnknownId, Tokenizer.Encode("<pad>").Ids[0]);   // special tokens are not words
    }

    [Fact]
    public void Empty_prompt_is_the_single_empty_token_and_long_prompts_are_truncated()
    {
        Assert.Equal(WordTokenizer.EmptyId, Tokenizer.Encode("  ").Ids[0]);
        Assert.True(Tokenizer.Encode(string.Join(' ', Enumerable.Repeat("red", 40))).Truncated);
    }

    [Fact]
    public void Vocabulary_must_start_with_the_special_tokens()
    {
        Assert.Throws<ArgumentException>(() => new WordTokenizer(["a", "b"], 4));
    }
}

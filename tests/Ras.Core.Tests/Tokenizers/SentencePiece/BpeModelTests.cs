using Ras.Errors;
using Ras.Tokenizers.SentencePiece;

namespace Ras.Tests.Tokenizers.SentencePiece;

/// <summary>
/// sentencepiece's BPE rules on tiny hand-made models with Gemma's settings (identity normalizer, no dummy prefix,
/// whitespace kept, byte fallback, user-defined symbols): each expectation follows from bpe_model.cc by hand.
/// </summary>
public sealed class BpeModelTests
{
    [Fact]
    public void Highest_score_merges_first_even_when_it_is_not_the_leftmost_pair()
    {
        var model = Model(false, N("a", 0), N("b", 0), N("c", 0), N("ab", -5), N("bc", -1));
        Assert.Equal(["a", "bc"], Pieces(model, "abc"));
    }

    [Fact]
    public void Equal_scores_merge_the_leftmost_pair_first()
    {
        var model = Model(false, N("a", 0), N("b", 0), N("c", 0), N("ab", -1), N("bc", -1));
        Assert.Equal(["ab", "c"], Pieces(model, "abc"));
    }

    [Fact]
    public void Merged_symbols_take_part_in_further_merges()
    {
        var model = Model(false, N("a", 0), N("b", 0), N("c", 0), N("d", 0), N("ab", -1), N("cd", -2), N("abcd", -3));
        Assert.Equal(["abcd", "ab"], Pieces(model, "abcdab"));
    }

    [Fact]
    public void Uncovered_characters_without_byte_fallback_merge_into_one_unknown_piece()
    {
        var model = Model(false, N("a", 0));
        IReadOnlyList<SentencePieceToken> tokens = model.EncodeToPieces("aéüa");
        Assert.Equal(["a", "éü", "a"], tokens.Select(t => t.Piece));
        Assert.Equal([model.PieceToId("a")!.Value, model.UnknownId, model.PieceToId("a")!.Value], tokens.Select(t => t.Id));
    }

    [Fact]
    public void Uncovered_characters_with_byte_fallback_become_their_utf8_bytes()
    {
        var model = Model(true, N("a", 0));
        IReadOnlyList<SentencePieceToken> tokens = model.EncodeToPieces("aé🐱");
        Assert.Equal(["a", "<0xC3>", "<0xA9>", "<0xF0>", "<0x9F>", "<0x90>", "<0xB1>"], tokens.Select(t => t.Piece));
        Assert.Equal(tokens.Select(t => model.PieceToId(t.Piece)!.Value), tokens.Select(t => t.Id));
        Assert.Equal("aé🐱", model.Decode(tokens.Select(t => t.Id)));
    }

    [Fact]
    public void User_defined_symbols_stay_whole_and_never_merge_with_neighbours()
    {
        var model = Model(true, N("a", 0), N("b", 0), N("\u2581", 0), N("\u2581b", -1), UserDefined("\u2581\u2581"),
            UserDefined("<start_of_turn>"));

        // Without freezing, "▁b" (a piece) would take the second space.
        Assert.Equal(["a", "\u2581\u2581", "b"], Pieces(model, "a  b"));
        Assert.Equal(["a", "<start_of_turn>", "\u2581b"], Pieces(model, "a<start_of_turn> b"));
    }

    [Fact]
    public void Unused_pieces_may_be_merged_through_but_are_split_back_when_final()
    {
        var model = Model(false, N("a", 0), N("b", 0), N("c", 0), Unused("bc", -1), N("abc", -2));
        Assert.Equal(["abc"], Pieces(model, "abc"));
        Assert.Equal(["b", "c", "a"], Pieces(model, "bca"));
    }

    [Fact]
    public void Identity_normalizer_keeps_every_space_and_adds_no_prefix()
    {
        var model = Model(false, N("a", 0), N("b", 0), N("\u2581", 0), N("\u2581b", -1));
        Assert.Equal(["\u2581", "a", "\u2581", "\u2581b", "\u2581"], Pieces(model, " a  b "));
        Assert.Equal(" a  b ", model.Decode(model.Encode(" a  b ")));
    }

    [Fact]
    public void A_model_of_another_type_is_rejected_naming_the_field()
    {
        byte[] word = new SentencePieceProtoBuilder { ModelType = 3 }.Add("<unk>", 0, SentencePieceType.Unknown).Add("a").Build();
        var error = Assert.Throws<ConfigException>(() => SentencePieceModel.FromBytes(word, "word.model"));
        Assert.Equal("word.model", error.FilePath);
        Assert.Equal("trainer_spec.model_type", error.Field);
        Assert.Contains("WORD", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Gemma's layout: pad, eos, bos, unk, (bytes), then the given pieces.</summary>
    private static SentencePieceModel Model(bool byteFallback, params (string Piece, float Score, SentencePieceType Type)[] pieces)
    {
        var builder = new SentencePieceProtoBuilder { ByteFallback = byteFallback, UnkId = 3, BosId = 2, EosId = 1 }
            .Add("<pad>", 0, SentencePieceType.Control).Add("<eos>", 0, SentencePieceType.Control)
            .Add("<bos>", 0, SentencePieceType.Control).Add("<unk>", 0, SentencePieceType.Unknown);
        if (byteFallback)
        {
            builder.AddBytes();
        }

        foreach (var (piece, score, type) in pieces)
        {
            builder.Add(piece, score, type);
        }

        SentencePieceModel model = SentencePieceModel.FromBytes(builder.Build(), "test.model");
        Assert.Equal(SentencePieceModelType.Bpe, model.ModelType);
        return model;
    }

    private static (string, float, SentencePieceType) N(string piece, float score) => (piece, score, SentencePieceType.Normal);

    private static (string, float, SentencePieceType) UserDefined(string piece) => (piece, 0, SentencePieceType.UserDefined);

    private static (string, float, SentencePieceType) Unused(string piece, float score) => (piece, score, SentencePieceType.Unused);

    private static string[] Pieces(SentencePieceModel model, string text) => model.EncodeToPieces(text).Select(t => t.Piece).ToArray();
}

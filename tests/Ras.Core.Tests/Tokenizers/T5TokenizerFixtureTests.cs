using System.Text.Json;
using Ras.Tokenizers;
using Ras.Tokenizers.SentencePiece;
using Ras.Tokenizers.T5;
using Ras.Tests.Fixtures;
using static Ras.Tests.Tokenizers.TokenizerFixtureFiles;

namespace Ras.Tests.Tokenizers;

/// <summary>
/// The SentencePiece unigram model against sentencepiece 0.1.97, and the T5 call convention on top. A
/// <c>tokenizers/</c> case folder is a T5 one when its <c>cases.json</c> has <c>t5_convention</c>; the model file and
/// its settings come from <c>model</c>.
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class T5TokenizerFixtureTests
{
    /// <summary>The folder's optional table of every piece (<c>[piece, score, type]</c> in id order; see the fixture README).</summary>
    private const string PiecesTable = "pieces.json";

    [FixtureCases("tokenizers", Requires = "t5_convention")]
    public void Model_proto_matches_the_stated_settings_and_piece_table(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        JsonElement info = fixture.Json.GetProperty("model");
        var model = SentencePieceModel.Load(fixture.PathOf(info.GetProperty("file").GetString()!));
        Assert.Equal(info.GetProperty("model_type").GetString(), model.ModelType.ToString().ToUpperInvariant());
        Assert.Equal(info.GetProperty("vocab_size").GetInt32(), model.Pieces.Count);
        Assert.Equal(info.GetProperty("unk_id").GetInt32(), model.UnknownId);
        Assert.Equal(info.GetProperty("eos_id").GetInt32(), model.EosId);
        Assert.Equal(info.GetProperty("bos_id").GetInt32(), model.BosId);
        Assert.Equal(info.GetProperty("pad_id").GetInt32(), model.PadId);
        Assert.Equal(info.GetProperty("byte_fallback").GetBoolean(), model.ByteFallback);

        if (File.Exists(fixture.PathOf(PiecesTable)))
        {
            using JsonDocument pieces = JsonDocument.Parse(File.ReadAllBytes(fixture.PathOf(PiecesTable)));
            AssertPieces(pieces.RootElement.GetProperty("pieces"), model);
        }
    }

    [FixtureCases("tokenizers", Requires = "t5_convention")]
    public void Every_case_reproduces_sentencepiece_and_the_t5_convention(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        JsonElement root = fixture.Json;
        var model = SentencePieceModel.Load(fixture.PathOf(root.GetProperty("model").GetProperty("file").GetString()!));
        JsonElement convention = root.GetProperty("t5_convention");
        var tokenizer = new T5Tokenizer(model, convention.GetProperty("eos_id").GetInt32(), convention.GetProperty("pad_id").GetInt32());
        int[] lengths = Ints(convention.GetProperty("max_lengths"));

        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in root.GetProperty("cases").EnumerateArray())
        {
            count++;
            string name = c.GetProperty("name").GetString()!, text = c.GetProperty("text").GetString()!;
            IReadOnlyList<SentencePieceToken> pieces = model.EncodeToPieces(text);
            CheckSequence(failures, $"{name} spm_ids", Ints(c.GetProperty("spm_ids")), pieces.Select(p => p.Id));
            CheckSequence(failures, $"{name} spm_pieces", Strings(c.GetProperty("spm_pieces")), pieces.Select(p => p.Piece));
            foreach (int length in lengths)
            {
                TokenizedPrompt actual = tokenizer.Encode(text, length);
                CheckSequence(failures, $"{name} input_ids_{length}", Ints(c.GetProperty($"input_ids_{length}")), actual.InputIds);
                CheckSequence(failures, $"{name} untruncated_ids", Ints(c.GetProperty("untruncated_ids")), actual.UntruncatedIds);
                Check(failures, $"{name} truncated_{length}", c.GetProperty($"truncated_{length}").GetBoolean(), actual.Truncated);
            }
        }

        AssertNoFailures(count, failures);
    }
}

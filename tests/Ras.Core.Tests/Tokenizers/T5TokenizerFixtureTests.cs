using System.Text.Json;
using Ras.Tokenizers;
using Ras.Tokenizers.SentencePiece;
using Ras.Tokenizers.T5;
using static Ras.Tests.Tokenizers.TokenizerFixtureFiles;

namespace Ras.Tests.Tokenizers;

/// <summary>The SentencePiece unigram model against sentencepiece 0.1.97, and the T5 call convention on top.</summary>
[Trait("Category", "Fixtures")]
public sealed class T5TokenizerFixtureTests
{
    [Fact]
    public void Model_proto_pieces_match_the_stored_table()
    {
        string fixture = Folder("tokenizers", "t5_spm");
        using JsonDocument cases = Cases(fixture);
        var model = SentencePieceModel.Load(Path.Combine(fixture, cases.RootElement.GetProperty("model").GetProperty("file").GetString()!));
        using JsonDocument pieces = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(fixture, "pieces.json")));
        JsonElement[] expected = pieces.RootElement.GetProperty("pieces").EnumerateArray().ToArray();
        Assert.Equal(expected.Length, model.Pieces.Count);
        for (int id = 0; id < expected.Length; id++)
        {
            JsonElement[] row = expected[id].EnumerateArray().ToArray();
            SentencePieceEntry actual = model.Pieces[id];
            Assert.Equal(row[0].GetString(), actual.Piece);
            Assert.Equal(row[1].GetSingle(), actual.Score);
            Assert.Equal(row[2].GetString(), actual.Type.ToString().ToUpperInvariant());
        }

        JsonElement info = cases.RootElement.GetProperty("model");
        Assert.Equal(info.GetProperty("unk_id").GetInt32(), model.UnknownId);
        Assert.Equal(info.GetProperty("eos_id").GetInt32(), model.EosId);
        Assert.Equal(info.GetProperty("bos_id").GetInt32(), model.BosId);
        Assert.Equal(info.GetProperty("pad_id").GetInt32(), model.PadId);
    }

    [Fact]
    public void Every_case_reproduces_sentencepiece_and_the_t5_convention()
    {
        string fixture = Folder("tokenizers", "t5_spm");
        using JsonDocument cases = Cases(fixture);
        JsonElement root = cases.RootElement;
        var model = SentencePieceModel.Load(Path.Combine(fixture, root.GetProperty("model").GetProperty("file").GetString()!));
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

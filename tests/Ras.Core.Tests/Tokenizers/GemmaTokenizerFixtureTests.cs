using System.Text.Json;
using Ras.Tokenizers;
using Ras.Tokenizers.Gemma;
using Ras.Tokenizers.SentencePiece;
using Ras.Tests.TestSupport;
using static Ras.Tests.Tokenizers.TokenizerFixtureFiles;

namespace Ras.Tests.Tokenizers;

/// <summary>
/// The SentencePiece BPE model against sentencepiece 0.1.97, and <see cref="GemmaTokenizer"/> against transformers'
/// slow <c>GemmaTokenizer</c> called as Lumina calls it (<c>tokenizers/gemma_spm</c>, a small BPE stand-in for Gemma's).
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class GemmaTokenizerFixtureTests : IDisposable
{
    private const string BpeModel = "test_sentencepiece_bpe.model";
    private const string ByteFallbackModel = "test_sentencepiece_with_bytefallback.model";

    private readonly TempDirectory temp = new();
    private readonly string fixture = Folder("tokenizers", "gemma_spm");

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Bpe_model_proto_matches_the_stored_pieces_and_settings()
    {
        var model = SentencePieceModel.Load(Path.Combine(fixture, BpeModel));
        using JsonDocument pieces = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(fixture, "pieces_bpe.json")));
        JsonElement[] expected = pieces.RootElement.EnumerateArray().ToArray();
        Assert.Equal(expected.Length, model.Pieces.Count);
        for (int id = 0; id < expected.Length; id++)
        {
            JsonElement[] row = expected[id].EnumerateArray().ToArray();
            SentencePieceEntry actual = model.Pieces[id];
            Assert.Equal(row[0].GetString(), actual.Piece);
            Assert.Equal(row[1].GetSingle(), actual.Score);
            Assert.Equal(row[2].GetString(), actual.Type.ToString().ToUpperInvariant());
        }

        using JsonDocument cases = Cases(fixture);
        JsonElement info = cases.RootElement.GetProperty("model_info").GetProperty(BpeModel);
        Assert.Equal(info.GetProperty("model_type").GetString(), model.ModelType.ToString().ToUpperInvariant());
        Assert.Equal(info.GetProperty("vocab_size").GetInt32(), model.Pieces.Count);
        Assert.Equal(info.GetProperty("unk_id").GetInt32(), model.UnknownId);
        Assert.Equal(info.GetProperty("bos_id").GetInt32(), model.BosId);
        Assert.Equal(info.GetProperty("eos_id").GetInt32(), model.EosId);
        Assert.Equal(info.GetProperty("pad_id").GetInt32(), model.PadId);
        Assert.Equal(info.GetProperty("byte_fallback").GetBoolean(), model.ByteFallback);
    }

    [Fact]
    public void Every_case_reproduces_sentencepiece_transformers_and_the_lumina_prompt_call()
    {
        var bpe = SentencePieceModel.Load(Path.Combine(fixture, BpeModel));
        var byteFallback = SentencePieceModel.Load(Path.Combine(fixture, ByteFallbackModel));
        var tokenizers = new Dictionary<string, GemmaTokenizer>
        {
            ["left"] = GemmaTokenizer.FromFolder(TokenizerFolder("left")),
            ["right"] = GemmaTokenizer.FromFolder(TokenizerFolder("right")),
        };
        using JsonDocument cases = Cases(fixture);
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in cases.RootElement.GetProperty("cases").EnumerateArray())
        {
            count++;
            string name = c.GetProperty("name").GetString()!, text = c.GetProperty("text").GetString()!;
            IReadOnlyList<SentencePieceToken> pieces = bpe.EncodeToPieces(text);
            CheckSequence(failures, $"{name} spm_ids", Ints(c.GetProperty("spm_ids")), pieces.Select(p => p.Id));
            CheckSequence(failures, $"{name} spm_pieces", Strings(c.GetProperty("spm_pieces")), pieces.Select(p => p.Piece));
            CheckSequence(failures, $"{name} hf_ids_no_padding", Ints(c.GetProperty("hf_ids_no_padding")), tokenizers["right"].EncodeIds(text));

            string luminaText = LuminaTextPreprocessing.Apply(text);
            Check(failures, $"{name} lumina_text", c.GetProperty("lumina_text").GetString(), luminaText);
            CheckSequence(failures, $"{name} lumina_spm_ids", Ints(c.GetProperty("lumina_spm_ids")), bpe.Encode(luminaText));
            foreach ((string side, GemmaTokenizer tokenizer) in tokenizers)
            {
                GemmaTokenizedPrompt prompt = tokenizer.Encode(luminaText);
                CheckSequence(failures, $"{name} prompt_input_ids_{side}", Ints(c.GetProperty($"prompt_input_ids_{side}")), prompt.InputIds);
                CheckSequence(failures, $"{name} prompt_attention_mask_{side}", Ints(c.GetProperty($"prompt_attention_mask_{side}")), prompt.AttentionMask);
                Check(failures, $"{name} prompt_length {side}", c.GetProperty("prompt_length").GetInt32(), prompt.InputIds.Length);
                CheckSequence(failures, $"{name} untruncated_ids {side}", Ints(c.GetProperty("untruncated_ids")), prompt.UntruncatedIds);
                bool warns = c.GetProperty("truncation_warning").GetBoolean();
                Check(failures, $"{name} truncation_warning {side}", warns, prompt.Truncated);
                if (warns)
                {
                    Check(failures, $"{name} removed_text {side}", c.GetProperty("removed_text").GetString(), prompt.RemovedText);
                }
            }

            IReadOnlyList<SentencePieceToken> bytePieces = byteFallback.EncodeToPieces(text);
            CheckSequence(failures, $"{name} bytefallback_unigram_spm_ids", Ints(c.GetProperty("bytefallback_unigram_spm_ids")), bytePieces.Select(p => p.Id));
            CheckSequence(failures, $"{name} bytefallback_unigram_spm_pieces", Strings(c.GetProperty("bytefallback_unigram_spm_pieces")), bytePieces.Select(p => p.Piece));
        }

        AssertNoFailures(count, failures);
    }

    [Fact]
    public void Every_negative_case_reproduces_the_max_length_call_on_both_sides()
    {
        var tokenizers = new Dictionary<string, GemmaTokenizer>
        {
            ["left"] = GemmaTokenizer.FromFolder(TokenizerFolder("left")),
            ["right"] = GemmaTokenizer.FromFolder(TokenizerFolder("right")),
        };
        using JsonDocument cases = Cases(fixture);
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in cases.RootElement.GetProperty("negative_cases").EnumerateArray())
        {
            count++;
            string name = c.GetProperty("name").GetString()!, text = c.GetProperty("text").GetString()!;
            int maxLength = c.GetProperty("max_length").GetInt32();
            foreach ((string side, GemmaTokenizer tokenizer) in tokenizers)
            {
                GemmaTokenizedPrompt negative = tokenizer.Encode(text, maxLength);
                CheckSequence(failures, $"{name} input_ids_{side}", Ints(c.GetProperty($"input_ids_{side}")), negative.InputIds);
                CheckSequence(failures, $"{name} attention_mask_{side}", Ints(c.GetProperty($"attention_mask_{side}")), negative.AttentionMask);
            }
        }

        AssertNoFailures(count, failures);
    }

    [Fact]
    public void Batch_rows_share_the_longest_length_rounded_to_eight()
    {
        var tokenizer = GemmaTokenizer.FromFolder(TokenizerFolder("left"));
        using JsonDocument cases = Cases(fixture);
        JsonElement[] all = cases.RootElement.GetProperty("cases").EnumerateArray().ToArray();
        JsonElement shortCase = all.First(c => c.GetProperty("prompt_length").GetInt32() == 8);
        JsonElement longCase = all.First(c => c.GetProperty("prompt_length").GetInt32() > 16 && !c.GetProperty("truncation_warning").GetBoolean());
        int length = longCase.GetProperty("prompt_length").GetInt32();
        IReadOnlyList<GemmaTokenizedPrompt> batch = tokenizer.EncodeBatch(
            [shortCase.GetProperty("lumina_text").GetString()!, longCase.GetProperty("lumina_text").GetString()!]);

        Assert.All(batch, row => Assert.Equal(length, row.InputIds.Length));
        Assert.Equal(Ints(longCase.GetProperty("prompt_input_ids_left")), batch[1].InputIds);
        int[] shortIds = Ints(shortCase.GetProperty("untruncated_ids"));
        Assert.Equal([.. Enumerable.Repeat(tokenizer.PadTokenId, length - shortIds.Length), .. shortIds], batch[0].InputIds);
        Assert.Equal([.. Enumerable.Repeat(0, length - shortIds.Length), .. Enumerable.Repeat(1, shortIds.Length)], batch[0].AttentionMask);
    }

    /// <summary>A tokenizer folder for the BPE stand-in, configured as the fixture's transformers tokenizer was.</summary>
    private string TokenizerFolder(string paddingSide)
    {
        string folder = temp.File(paddingSide);
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(fixture, BpeModel), Path.Combine(folder, "tokenizer.model"));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), $$"""
            {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>",
             "add_bos_token": true, "add_eos_token": false, "padding_side": "{{paddingSide}}", "tokenizer_class": "GemmaTokenizer"}
            """);
        return folder;
    }
}

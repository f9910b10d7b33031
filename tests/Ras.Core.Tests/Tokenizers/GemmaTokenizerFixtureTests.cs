using System.Text.Json;
using System.Text.RegularExpressions;
using Ras.Tokenizers;
using Ras.Tokenizers.Gemma;
using Ras.Tokenizers.SentencePiece;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using Xunit.Sdk;
using static Ras.Tests.Tokenizers.TokenizerFixtureFiles;

namespace Ras.Tests.Tokenizers;

/// <summary>
/// The SentencePiece BPE model against sentencepiece 0.1.97, and <see cref="GemmaTokenizer"/> against transformers'
/// slow <c>GemmaTokenizer</c> called as Lumina calls it (<c>tokenizers/gemma_spm</c>, a small BPE stand-in for Gemma's).
/// A <c>tokenizers/</c> case folder is a Gemma one when its <c>cases.json</c> has <c>model_info</c>: the model files
/// and their settings. The BPE model is the one whose <c>model_type</c> is BPE, the byte-fallback one the one with
/// <c>byte_fallback</c>; the tokenizer's arguments are those its <c>tokenizer</c> entry states.
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class GemmaTokenizerFixtureTests : IDisposable
{
    /// <summary>The folder's optional table of the BPE model's pieces (<c>[piece, score, type]</c> in id order; see the fixture README).</summary>
    private const string BpePiecesTable = "pieces_bpe.json";

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [FixtureCases("tokenizers", Requires = "model_info")]
    public void Model_protos_match_the_stated_settings_and_piece_table(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        JsonProperty[] models = fixture.Json.GetProperty("model_info").EnumerateObject().ToArray();
        Assert.NotEmpty(models);
        foreach (JsonProperty entry in models)
        {
            var model = SentencePieceModel.Load(fixture.PathOf(entry.Name));
            JsonElement info = entry.Value;
            Assert.Equal(info.GetProperty("model_type").GetString(), model.ModelType.ToString().ToUpperInvariant());
            Assert.Equal(info.GetProperty("vocab_size").GetInt32(), model.Pieces.Count);
            Assert.Equal(info.GetProperty("unk_id").GetInt32(), model.UnknownId);
            Assert.Equal(info.GetProperty("bos_id").GetInt32(), model.BosId);
            Assert.Equal(info.GetProperty("eos_id").GetInt32(), model.EosId);
            Assert.Equal(info.GetProperty("pad_id").GetInt32(), model.PadId);
            Assert.Equal(info.GetProperty("byte_fallback").GetBoolean(), model.ByteFallback);
        }

        if (File.Exists(fixture.PathOf(BpePiecesTable)))
        {
            using JsonDocument pieces = JsonDocument.Parse(File.ReadAllBytes(fixture.PathOf(BpePiecesTable)));
            AssertPieces(pieces.RootElement, SentencePieceModel.Load(ModelFile(fixture, info => info.GetProperty("model_type").GetString() == "BPE")));
        }
    }

    [FixtureCases("tokenizers", Requires = "model_info")]
    public void Every_case_reproduces_sentencepiece_transformers_and_the_lumina_prompt_call(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        var bpe = SentencePieceModel.Load(ModelFile(fixture, info => info.GetProperty("model_type").GetString() == "BPE"));
        var byteFallback = SentencePieceModel.Load(ModelFile(fixture, info => info.GetProperty("byte_fallback").GetBoolean()));
        Dictionary<string, GemmaTokenizer> tokenizers = Tokenizers(fixture);
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in fixture.Json.GetProperty("cases").EnumerateArray())
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

    [FixtureCases("tokenizers", Requires = "model_info")]
    public void Every_negative_case_reproduces_the_max_length_call_on_both_sides(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        Dictionary<string, GemmaTokenizer> tokenizers = Tokenizers(fixture);
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in fixture.Json.GetProperty("negative_cases").EnumerateArray())
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

    /// <summary>The shortest and the longest untruncated prompt of the case, batched: both rows take the longer one's length.</summary>
    [FixtureCases("tokenizers", Requires = "model_info")]
    public void Batch_rows_share_the_longest_length_rounded_to_eight(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        GemmaTokenizer tokenizer = Tokenizers(fixture)["left"];
        JsonElement[] untruncated = fixture.Json.GetProperty("cases").EnumerateArray()
            .Where(c => !c.GetProperty("truncation_warning").GetBoolean())
            .OrderBy(c => c.GetProperty("prompt_length").GetInt32()).ToArray();
        Assert.True(untruncated.Length >= 2, "the case needs two untruncated prompts");
        JsonElement shortCase = untruncated[0], longCase = untruncated[^1];
        int length = longCase.GetProperty("prompt_length").GetInt32();
        IReadOnlyList<GemmaTokenizedPrompt> batch = tokenizer.EncodeBatch(
            [shortCase.GetProperty("lumina_text").GetString()!, longCase.GetProperty("lumina_text").GetString()!]);

        Assert.All(batch, row => Assert.Equal(length, row.InputIds.Length));
        Assert.Equal(Ints(longCase.GetProperty("prompt_input_ids_left")), batch[1].InputIds);
        int[] shortIds = Ints(shortCase.GetProperty("untruncated_ids"));
        Assert.Equal([.. Enumerable.Repeat(tokenizer.PadTokenId, length - shortIds.Length), .. shortIds], batch[0].InputIds);
        Assert.Equal([.. Enumerable.Repeat(0, length - shortIds.Length), .. Enumerable.Repeat(1, shortIds.Length)], batch[0].AttentionMask);
    }

    /// <summary>The one model file of <c>model_info</c> that <paramref name="select"/> picks.</summary>
    private static string ModelFile(FixtureCase fixture, Func<JsonElement, bool> select)
    {
        string[] files = fixture.Json.GetProperty("model_info").EnumerateObject().Where(e => select(e.Value)).Select(e => e.Name).ToArray();
        return files.Length == 1 ? fixture.PathOf(files[0]) : throw new XunitException($"{fixture.Directory}: expected one such model in model_info, found {files.Length}");
    }

    /// <summary>
    /// The case's tokenizer for each padding side, configured from its <c>tokenizer</c> entry (the transformers call:
    /// <c>vocab_file</c>, the special tokens and the <c>add_*_token</c> flags).
    /// </summary>
    private Dictionary<string, GemmaTokenizer> Tokenizers(FixtureCase fixture)
    {
        string call = fixture.Json.GetProperty("tokenizer").GetString()!;
        string Argument(string name) => Regex.Match(call, $@"\b{name}=(?:'([^']*)'|([^,)\s]+))") is { Success: true } m
            ? (m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)
            : throw new XunitException($"{fixture.Directory}: the tokenizer entry states no {name}: {call}");
        bool Flag(string name) => Argument(name) switch
        {
            "True" => true,
            "False" => false,
            var other => throw new XunitException($"{fixture.Directory}: {name}={other} is not a Python bool"),
        };

        var config = new Dictionary<string, object>
        {
            ["tokenizer_class"] = "GemmaTokenizer",
            ["bos_token"] = Argument("bos_token"), ["eos_token"] = Argument("eos_token"),
            ["unk_token"] = Argument("unk_token"), ["pad_token"] = Argument("pad_token"),
            ["add_bos_token"] = Flag("add_bos_token"), ["add_eos_token"] = Flag("add_eos_token"),
        };
        string model = fixture.PathOf(Argument("vocab_file"));
        return new[] { "left", "right" }.ToDictionary(side => side, side =>
        {
            string folder = temp.File(side);
            Directory.CreateDirectory(folder);
            File.Copy(model, Path.Combine(folder, "tokenizer.model"), overwrite: true);
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(new Dictionary<string, object>(config) { ["padding_side"] = side }));
            return GemmaTokenizer.FromFolder(folder);
        }, StringComparer.Ordinal);
    }
}

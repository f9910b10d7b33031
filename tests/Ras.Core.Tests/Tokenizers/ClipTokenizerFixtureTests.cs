using System.Text.Json;
using Ras.Tokenizers;
using Ras.Tokenizers.Clip;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using static Ras.Tests.Tokenizers.TokenizerFixtureFiles;

namespace Ras.Tests.Tokenizers;

/// <summary>
/// SD3's two CLIP tokenizers against transformers' slow <c>CLIPTokenizer</c> (ftfy absent), case by case. A
/// <c>tokenizers/</c> case folder is a CLIP one when its <c>cases.json</c> has <c>tokenizers</c>: the tokenizer names,
/// whose folders <c>files</c> gives.
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class ClipTokenizerFixtureTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [FixtureCases("tokenizers", Requires = "tokenizers")]
    public void Every_case_reproduces_each_tokenizer(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        Dictionary<string, CLIPTokenizer> tokenizers = Tokenizers(fixture);
        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement c in fixture.Json.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!, text = c.GetProperty("text").GetString()!;
            Check(failures, $"{name} cleaned_text", c.GetProperty("cleaned_text").GetString(), ClipTextCleaner.Clean(text));
            foreach ((string which, CLIPTokenizer tokenizer) in tokenizers)
            {
                count++;
                JsonElement expected = c.GetProperty(which);
                TokenizedPrompt actual = tokenizer.Encode(text);
                CheckSequence(failures, $"{name} {which} tokens", Strings(expected.GetProperty("tokens")), tokenizer.Tokenize(text));
                CheckSequence(failures, $"{name} {which} input_ids", Ints(expected.GetProperty("input_ids")), actual.InputIds);
                CheckSequence(failures, $"{name} {which} untruncated_ids", Ints(expected.GetProperty("untruncated_ids")), actual.UntruncatedIds);
                bool warns = expected.GetProperty("truncation_warning").GetBoolean();
                Check(failures, $"{name} {which} truncation_warning", warns, actual.Truncated);
                if (warns)
                {
                    Check(failures, $"{name} {which} removed_text", expected.GetProperty("removed_text").GetString(), actual.RemovedText);
                }
            }
        }

        AssertNoFailures(count, failures);
    }

    [FixtureCases("tokenizers", Requires = "tokenizers")]
    public void Special_ids_come_from_the_folder_files(string caseName)
    {
        using var fixture = FixtureCase.Open("tokenizers", caseName);
        Dictionary<string, CLIPTokenizer> tokenizers = Tokenizers(fixture);
        Assert.NotEmpty(tokenizers);
        foreach ((string which, CLIPTokenizer tokenizer) in tokenizers)
        {
            JsonElement expected = fixture.Json.GetProperty("tokenizers").GetProperty(which);
            Assert.Equal(expected.GetProperty("pad_token_id").GetInt32(), tokenizer.PadTokenId);
            Assert.Equal(expected.GetProperty("bos_token_id").GetInt32(), tokenizer.BosTokenId);
            Assert.Equal(expected.GetProperty("eos_token_id").GetInt32(), tokenizer.EosTokenId);
            Assert.Equal(expected.GetProperty("unk_token_id").GetInt32(), tokenizer.UnknownTokenId);
        }
    }

    /// <summary>Each tokenizer the case names (<c>tokenizers</c>), read from its folder (<c>files</c>) with the vocabulary expanded.</summary>
    private Dictionary<string, CLIPTokenizer> Tokenizers(FixtureCase fixture)
    {
        JsonElement files = fixture.Json.GetProperty("files");
        return fixture.Json.GetProperty("tokenizers").EnumerateObject().ToDictionary(
            t => t.Name,
            t => CLIPTokenizer.FromFolder(Expand(fixture.PathOf(files.GetProperty(t.Name).GetString()!.TrimEnd('/')), temp)),
            StringComparer.Ordinal);
    }

    /// <summary><c>clip/tokenizer_tiny_bpe</c>: a self-made vocabulary whose specials are not CLIP's ids, so nothing can be hard-coded.</summary>
    [FixtureCases("clip", "clip_tokenizer")]
    public void Tiny_vocabulary_case(string caseName)
    {
        using var fixture = FixtureCase.Open("clip", caseName);
        JsonElement json = fixture.Json;
        var tokenizers = new Dictionary<string, CLIPTokenizer>
        {
            ["tokenizer"] = CLIPTokenizer.FromFiles(fixture.PathOf("vocab.json"), fixture.PathOf("merges.txt"), fixture.PathOf("tokenizer_config.json")),
            ["tokenizer_2"] = CLIPTokenizer.FromFiles(fixture.PathOf("vocab.json"), fixture.PathOf("merges.txt"), fixture.PathOf("tokenizer_2_config.json")),
        };
        JsonElement special = json.GetProperty("special_ids");
        Assert.Equal(special.GetProperty("bos").GetInt32(), tokenizers["tokenizer"].BosTokenId);
        Assert.Equal(special.GetProperty("eos").GetInt32(), tokenizers["tokenizer_2"].EosTokenId);
        Assert.Equal(special.GetProperty("pad_tokenizer").GetInt32(), tokenizers["tokenizer"].PadTokenId);
        Assert.Equal(special.GetProperty("pad_tokenizer_2").GetInt32(), tokenizers["tokenizer_2"].PadTokenId);

        var failures = new List<string>();
        int count = 0;
        foreach (JsonElement prompt in json.GetProperty("prompts").EnumerateArray())
        {
            count++;
            string text = prompt.GetProperty("prompt").GetString()!;
            CheckSequence(failures, $"'{text}' tokens", Strings(prompt.GetProperty("tokens")), tokenizers["tokenizer"].Tokenize(text));
            TokenizedPrompt first = tokenizers["tokenizer"].Encode(text);
            CheckSequence(failures, $"'{text}' untruncated", Ints(prompt.GetProperty("ids_untruncated")), first.UntruncatedIds);
            Check(failures, $"'{text}' truncated", prompt.GetProperty("truncated").GetBoolean(), first.Truncated);
            foreach ((string which, CLIPTokenizer tokenizer) in tokenizers)
            {
                CheckSequence(failures, $"'{text}' input_ids_{which}", Ints(prompt.GetProperty("input_ids_" + which)), tokenizer.Encode(text).InputIds);
            }
        }

        AssertNoFailures(count, failures);
    }
}

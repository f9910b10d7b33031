using System.Security.Cryptography;
using System.Text.Json;
using Ras.Tests.Fixtures;
using Ras.Tokenizers;
using Ras.Tokenizers.Clip;
using Ras.Tokenizers.T5;

namespace Ras.Tests.Tokenizers;

/// <summary>The tokenizers shipped inside the library for single files without a diffusers folder.</summary>
public sealed class BuiltInTokenizersTests
{
    [Fact]
    public void Built_in_clip_tokenizers_match_the_reference_on_every_case()
    {
        using var fixture = FixtureCase.Open("tokenizers", "clip_bpe");
        var tokenizers = new Dictionary<string, CLIPTokenizer>
        {
            ["tokenizer"] = CLIPTokenizer.FromFolder(BuiltInTokenizers.Folder(BuiltInTokenizer.ClipL)),
            ["tokenizer_2"] = CLIPTokenizer.FromFolder(BuiltInTokenizers.Folder(BuiltInTokenizer.ClipG)),
        };
        int checkedIds = 0;
        foreach (JsonElement c in fixture.Json.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            foreach ((string which, CLIPTokenizer tokenizer) in tokenizers)
            {
                int[] expected = c.GetProperty(which).GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                Assert.Equal(expected, tokenizer.Encode(text).InputIds);
                checkedIds++;
            }
        }

        Assert.True(checkedIds >= 80, $"only {checkedIds} encodings checked");
        Assert.Equal(49407, tokenizers["tokenizer"].PadTokenId);   // CLIP-L pads with <|endoftext|>
        Assert.Equal(0, tokenizers["tokenizer_2"].PadTokenId);     // bigG pads with "!"
    }

    [Fact]
    public void Built_in_t5_is_the_t5_v1_1_sentencepiece_model()
    {
        string folder = BuiltInTokenizers.Folder(BuiltInTokenizer.T5);
        Assert.Equal("d60acb128cf7b7f2536e8f38a5b18a05535c9e14c7a355904270e15b0945ea86",
            Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, "spiece.model")))).ToLowerInvariant());
        Assert.True(File.Exists(Path.Combine(folder, "LICENSE-Apache-2.0.txt")));
        T5Tokenizer tokenizer = T5Tokenizer.FromFolder(folder);
        Assert.Equal(32000, tokenizer.Model.Pieces.Count);
        Assert.Equal((1, 0), (tokenizer.EosTokenId, tokenizer.PadTokenId));

        // The example of transformers' T5 documentation (t5-small shares this vocabulary).
        TokenizedPrompt ids = tokenizer.Encode("Studies have been shown that owning a dog is good for you", 16);
        Assert.Equal([6536, 43, 118, 2008, 24, 293, 53, 3, 9, 1782, 19, 207, 21, 25, 1, 0], ids.InputIds);
    }

    [Fact]
    public void Unpacking_twice_gives_the_same_folders()
    {
        string first = BuiltInTokenizers.Folder(BuiltInTokenizer.ClipL);
        Assert.Equal(first, BuiltInTokenizers.Folder(BuiltInTokenizer.ClipL));
        Assert.Equal(Path.GetDirectoryName(first), Path.GetDirectoryName(BuiltInTokenizers.Folder(BuiltInTokenizer.T5)));
        Assert.Equal(961144, new FileInfo(Path.Combine(first, "vocab.json")).Length);
    }
}

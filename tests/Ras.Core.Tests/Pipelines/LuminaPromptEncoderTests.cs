using Ras.Models.Gemma;
using Ras.Pipelines.Lumina;
using Ras.Tests.TestSupport;
using Ras.Tokenizers.Gemma;
using static TorchSharp.torch;

namespace Ras.Tests.Pipelines;

/// <summary>Lumina's <c>encode_prompt</c> recipe: token rows, masks and features.</summary>
[Collection(SerialCollection.Name)]
public sealed class LuminaPromptEncoderTests : IDisposable
{
    private readonly string folder = TinyLuminaPipelines.Write(Path.Combine(Path.GetTempPath(), $"ras-lumina-enc-{Guid.NewGuid():N}"));

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Prompts_are_lower_cased_and_padded_together_and_the_negative_to_their_length()
    {
        var tokenizer = GemmaTokenizer.FromFolder(Path.Combine(folder, "tokenizer"));
        var warnings = new List<string>();
        string longer = "A much longer prompt about a small blue square standing on a wooden table";
        LuminaPromptTokens tokens = LuminaPromptEncoder.Tokenize(tokenizer, ["  A Red Circle ", longer], "Blurry", warnings, device: null);

        int[] shortIds = tokenizer.EncodeIds("a red circle");
        int[] longIds = tokenizer.EncodeIds(longer.ToLowerInvariant());
        int length = (longIds.Length + 7) / 8 * 8;
        Assert.Equal(2, tokens.Prompts);
        Assert.Equal([3, length], tokens.Ids.shape);
        Assert.Empty(warnings);

        // Left padding (the tokenizer config's side) with the pad id 0; the mask marks the real tokens.
        long[] ids = tokens.Ids.data<long>().ToArray();
        long[] mask = tokens.Mask.data<long>().ToArray();
        Assert.Equal(shortIds.Select(i => (long)i), ids.Skip(length - shortIds.Length).Take(shortIds.Length));
        Assert.All(ids.Take(length - shortIds.Length), id => Assert.Equal(0, id));
        Assert.Equal(longIds.Select(i => (long)i), ids.Skip((2 * length) - longIds.Length).Take(longIds.Length));
        Assert.Equal([shortIds.Length, longIds.Length, tokenizer.EncodeIds("Blurry").Length],
            Enumerable.Range(0, 3).Select(r => (int)mask.Skip(r * length).Take(length).Sum()));

        // The negative keeps its case: "Blurry" and "blurry" tokenize differently with this model.
        Assert.Equal(tokenizer.Encode("Blurry", length).InputIds.Select(i => (long)i), ids.Skip(2 * length));
        Assert.NotEqual(tokenizer.EncodeIds("Blurry"), tokenizer.EncodeIds("blurry"));
    }

    [Fact]
    public void Features_are_gemmas_penultimate_state_row_by_row()
    {
        var tokenizer = GemmaTokenizer.FromFolder(Path.Combine(folder, "tokenizer"));
        using var model = GemmaModel.FromPretrained(Path.Combine(folder, "text_encoder"));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        LuminaPromptTokens batch = LuminaPromptEncoder.Tokenize(tokenizer, ["a red circle"], "", [], device: null);
        Tensor features = LuminaPromptEncoder.Encode(model, batch);
        Assert.Equal([2, 8, TinyLuminaPipelines.GemmaHidden], features.shape);

        // Each row as Gemma computes it alone (valid positions only; rows do not see each other).
        LuminaPromptTokens alone = LuminaPromptEncoder.Tokenize(tokenizer, ["a red circle"], null, [], device: null);
        Tensor single = LuminaPromptEncoder.Encode(model, alone);
        Tensor valid = batch.Mask[0].to_type(ScalarType.Bool);
        TensorAssert.Close(single[0].index(valid), features[0].index(valid), "prompt row");
        Assert.True(features.isfinite().all().item<bool>(), "pad rows must stay finite");
    }
}

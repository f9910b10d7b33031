using System.Text.Json;
using System.Text.Json.Nodes;
using Ras.IO.Safetensors;
using Ras.Models.Clip;
using Ras.Models.T5;
using Ras.Pipelines.SD3;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Clip;

/// <summary>
/// SD3 prompt assembly (<c>kind: sd3_encode_prompt</c>) under <c>&lt;fixtures&gt;/clip/</c>. A case folder without
/// <c>text_encoder_3/</c> is a case without T5 (clip/README.md): zeros <c>[B, 77, joint_attention_dim]</c> in T5's place,
/// the width taken from the case's <c>call.joint_attention_dim_if_no_t5</c>.
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class SD3EncodePromptFixtureTests : IDisposable
{
    /// <summary>CLIP's token rows: the part of <c>prompt_embeds</c> before T5's (77, not <c>max_sequence_length</c>).</summary>
    private const int ClipRows = 77;

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [FixtureCases("clip", "sd3_encode_prompt")]
    public void Sd3_encode_prompt(string caseName)
    {
        using var fixture = FixtureCase.Open("clip", caseName);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var (positive, negative) = Encode(fixture);
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        TensorAssert.Close(expected.Read("prompt_embeds"), positive.PromptEmbeds, "prompt_embeds");
        TensorAssert.Close(expected.Read("pooled_prompt_embeds"), positive.PooledPromptEmbeds, "pooled_prompt_embeds");
        if (negative is not null)
        {
            TensorAssert.Close(expected.Read("negative_prompt_embeds"), negative.PromptEmbeds, "negative_prompt_embeds");
            TensorAssert.Close(expected.Read("negative_pooled_prompt_embeds"), negative.PooledPromptEmbeds, "negative_pooled_prompt_embeds");
        }
    }

    /// <summary>
    /// The case without T5, derived from a case with one: a folder in a temp root that links the case's two CLIP
    /// towers and inputs, with a <c>case.json</c> that states a width of its own and a <c>clip_skip</c>. By the README's
    /// rule its output is the case's CLIP rows (zero-padded to that width) followed by 77 zero rows, pooled unchanged;
    /// a <c>clip_skip</c> of k takes the towers' <c>hidden_states[-(k + 2)]</c> for the prompt, never the negative.
    /// </summary>
    [FixtureCases("clip", "sd3_encode_prompt")]
    public void Same_case_without_t5_is_its_clip_rows_then_77_zero_rows_honouring_clip_skip(string caseName)
    {
        using var source = FixtureCase.Open("clip", caseName);
        if (!Directory.Exists(source.PathOf("text_encoder_3")))
        {
            return;   // already a case without T5: Sd3_encode_prompt checks it against its own expected tensors
        }

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var expected = SafetensorsFile.Open(source.PathOf("expected.safetensors"));
        JsonElement call = source.Json.GetProperty("call");
        int? sourceSkip = ClipSkip(call);
        int clipWidth = CLIPTextConfig.Load(source.PathOf("text_encoder/config.json")).HiddenSize
            + CLIPTextConfig.Load(source.PathOf("text_encoder_2/config.json")).HiddenSize;
        int width = clipWidth + 8;   // not T5's width: the case alone decides it

        foreach (int? clipSkip in new[] { sourceSkip, (sourceSkip ?? 0) + 1 })
        {
            using var variant = FixtureCase.OpenFolder(WithoutT5(source, clipSkip, width));
            var (positive, negative) = Encode(variant);
            string label = $"no T5, clip_skip {clipSkip?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "None"}";

            Tensor expectedClip = clipSkip == sourceSkip
                ? expected.Read("prompt_embeds").narrow(1, 0, ClipRows).narrow(2, 0, clipWidth)
                : SkippedClipRows(variant, clipSkip!.Value, call.GetProperty("num_images_per_prompt").GetInt32());
            AssertWithoutT5(expectedClip, expected.Read("pooled_prompt_embeds"), positive, width, $"prompt ({label})");
            if (clipSkip != sourceSkip)
            {
                Assert.False(TensorAssert.Same(expected.Read("prompt_embeds").narrow(1, 0, ClipRows).narrow(2, 0, clipWidth), positive.PromptEmbeds.narrow(1, 0, ClipRows).narrow(2, 0, clipWidth)),
                    $"{label}: clip_skip should change the prompt's CLIP rows");
            }

            if (negative is not null)
            {
                AssertWithoutT5(expected.Read("negative_prompt_embeds").narrow(1, 0, ClipRows).narrow(2, 0, clipWidth),
                    expected.Read("negative_pooled_prompt_embeds"), negative, width, $"negative ({label})");
            }
        }
    }

    /// <summary>
    /// Runs a case as its <c>case.json</c> states it: <c>num_images_per_prompt</c>, <c>clip_skip</c> (prompt only),
    /// <c>do_classifier_free_guidance</c> (the negative, else null); T5 when the folder has <c>text_encoder_3/</c>, its
    /// <c>d_model</c> the width, otherwise zeros of <c>call.joint_attention_dim_if_no_t5</c>.
    /// </summary>
    private static (SD3PromptEmbeddings Positive, SD3PromptEmbeddings? Negative) Encode(FixtureCase fixture)
    {
        JsonElement call = fixture.Json.GetProperty("call");
        int images = call.GetProperty("num_images_per_prompt").GetInt32();
        bool guidance = call.GetProperty("do_classifier_free_guidance").GetBoolean();
        using var clipL = CLIPTextModelWithProjection.FromPretrained(fixture.PathOf("text_encoder"));
        using var clipG = CLIPTextModelWithProjection.FromPretrained(fixture.PathOf("text_encoder_2"));
        using T5EncoderModel? t5 = Directory.Exists(fixture.PathOf("text_encoder_3")) ? T5EncoderModel.FromPretrained(fixture.PathOf("text_encoder_3")) : null;
        int width = t5?.Config.DModel ?? (call.TryGetProperty("joint_attention_dim_if_no_t5", out JsonElement w) && w.ValueKind == JsonValueKind.Number
            ? w.GetInt32()
            : throw new XunitException($"{fixture.Directory}: a case without text_encoder_3/ needs call.joint_attention_dim_if_no_t5"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        SD3TokenIds Ids(string prefix) => new(inputs.Read(prefix + "input_ids_clip_l"), inputs.Read(prefix + "input_ids_clip_g"),
            t5 is null ? null : inputs.Read(prefix + "input_ids_t5"));

        SD3PromptEmbeddings positive = SD3PromptEncoder.Encode(clipL, clipG, t5, Ids("prompt_"), width, images, ClipSkip(call));
        SD3PromptEmbeddings? negative = guidance ? SD3PromptEncoder.Encode(clipL, clipG, t5, Ids("negative_"), width, images) : null;
        return (positive, negative);
    }

    private static int? ClipSkip(JsonElement call) =>
        call.TryGetProperty("clip_skip", out JsonElement skip) && skip.ValueKind == JsonValueKind.Number ? skip.GetInt32() : null;

    /// <summary><paramref name="source"/> without T5 in a temp root (<c>clip/&lt;case&gt;_no_t5_…</c>): links, and a case file of its own.</summary>
    private string WithoutT5(FixtureCase source, int? clipSkip, int width)
    {
        string name = $"{Path.GetFileName(source.Directory)}_no_t5_skip{clipSkip?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}";
        string folder = Path.Combine(temp.Path, "clip", name);
        Directory.CreateDirectory(folder);
        Directory.CreateSymbolicLink(Path.Combine(folder, "text_encoder"), source.PathOf("text_encoder"));
        Directory.CreateSymbolicLink(Path.Combine(folder, "text_encoder_2"), source.PathOf("text_encoder_2"));
        File.CreateSymbolicLink(Path.Combine(folder, "inputs.safetensors"), source.PathOf("inputs.safetensors"));

        JsonObject json = JsonNode.Parse(source.Json.GetRawText())!.AsObject();
        json["case"] = name;
        json["description"] = $"{Path.GetFileName(source.Directory)} without T5 (no text_encoder_3/), for the no-T5 rule of clip/README.md";
        (json["model_folders"] as JsonObject)?.Remove("text_encoder_3");
        json.Remove("expected");
        JsonObject call = json["call"]!.AsObject();
        call["clip_skip"] = clipSkip;
        call["max_sequence_length"] = null;
        call["joint_attention_dim_if_no_t5"] = width;
        File.WriteAllText(Path.Combine(folder, "case.json"), json.ToJsonString());
        return folder;
    }

    /// <summary>What <c>clip_skip</c> k selects: <c>hidden_states[-(k + 2)]</c> of both towers (pinned layer by layer by the clip_* cases), per image.</summary>
    private static Tensor SkippedClipRows(FixtureCase fixture, int clipSkip, int images)
    {
        using var clipL = CLIPTextModelWithProjection.FromPretrained(fixture.PathOf("text_encoder"));
        using var clipG = CLIPTextModelWithProjection.FromPretrained(fixture.PathOf("text_encoder_2"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        Tensor l = clipL.Forward(inputs.Read("prompt_input_ids_clip_l")).HiddenStates[^(clipSkip + 2)];
        Tensor g = clipG.Forward(inputs.Read("prompt_input_ids_clip_g")).HiddenStates[^(clipSkip + 2)];
        return cat([l, g], -1).repeat_interleave(images, 0);
    }

    /// <summary><c>[rows, 77 + 77, width]</c>: the CLIP rows, zeros after them on features, 77 zero rows for T5; pooled as given.</summary>
    private static void AssertWithoutT5(Tensor clipRows, Tensor pooled, SD3PromptEmbeddings actual, int width, string what)
    {
        long rows = clipRows.shape[0], clipWidth = clipRows.shape[2];
        Assert.Equal([rows, ClipRows + ClipRows, width], actual.PromptEmbeds.shape);
        TensorAssert.Close(clipRows, actual.PromptEmbeds.narrow(1, 0, ClipRows).narrow(2, 0, clipWidth), $"{what}: CLIP rows");
        TensorAssert.Close(zeros(rows, ClipRows, width - clipWidth), actual.PromptEmbeds.narrow(1, 0, ClipRows).narrow(2, clipWidth, width - clipWidth), $"{what}: CLIP padding");
        TensorAssert.Close(zeros(rows, ClipRows, width), actual.PromptEmbeds.narrow(1, ClipRows, ClipRows), $"{what}: T5 rows");
        TensorAssert.Close(pooled, actual.PooledPromptEmbeds, $"{what}: pooled");
    }
}

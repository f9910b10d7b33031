using Ras.IO.Safetensors;
using Ras.Models.Clip;
using Ras.Models.T5;
using Ras.Pipelines.SD3;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Clip;

/// <summary>SD3 prompt assembly (<c>kind: sd3_encode_prompt</c>) under <c>&lt;fixtures&gt;/clip/</c>.</summary>
[Trait("Category", "Fixtures")]
public sealed class SD3EncodePromptFixtureTests
{
    [FixtureCases("clip", "sd3_encode_prompt")]
    public void Sd3_encode_prompt(string caseName)
    {
        using var fixture = FixtureCase.Open("clip", caseName);
        using var clipL = CLIPTextModelWithProjection.FromPretrained(fixture.PathOf("text_encoder"));
        using var clipG = CLIPTextModelWithProjection.FromPretrained(fixture.PathOf("text_encoder_2"));
        using var t5 = T5EncoderModel.FromPretrained(fixture.PathOf("text_encoder_3"));
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        var call = fixture.Json.GetProperty("call");
        int images = call.GetProperty("num_images_per_prompt").GetInt32();
        int? clipSkip = call.GetProperty("clip_skip").ValueKind == System.Text.Json.JsonValueKind.Null ? null : call.GetProperty("clip_skip").GetInt32();
        using var scope = NewDisposeScope();
        using var inference = inference_mode();

        var positive = SD3PromptEncoder.Encode(clipL, clipG, t5, new SD3TokenIds(inputs.Read("prompt_input_ids_clip_l"), inputs.Read("prompt_input_ids_clip_g"), inputs.Read("prompt_input_ids_t5")), t5.Config.DModel, images, clipSkip);
        var negative = SD3PromptEncoder.Encode(clipL, clipG, t5, new SD3TokenIds(inputs.Read("negative_input_ids_clip_l"), inputs.Read("negative_input_ids_clip_g"), inputs.Read("negative_input_ids_t5")), t5.Config.DModel, images);
        TensorAssert.Close(expected.Read("prompt_embeds"), positive.PromptEmbeds, "prompt_embeds");
        TensorAssert.Close(expected.Read("pooled_prompt_embeds"), positive.PooledPromptEmbeds, "pooled_prompt_embeds");
        TensorAssert.Close(expected.Read("negative_prompt_embeds"), negative.PromptEmbeds, "negative_prompt_embeds");
        TensorAssert.Close(expected.Read("negative_pooled_prompt_embeds"), negative.PooledPromptEmbeds, "negative_pooled_prompt_embeds");
    }
}

using Ras.IO.Safetensors;
using Ras.Models.Clip;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Clip;

/// <summary>CLIP text encoder cases under <c>&lt;fixtures&gt;/clip/</c> (kind <c>clip_text_encoder</c>).</summary>
[Trait("Category", "Fixtures")]
public sealed class ClipFixtureTests(ITestOutputHelper output)
{
    [FixtureCases("clip", "clip_text_encoder")]
    public void Clip_text_encoder(string caseName)
    {
        using var fixture = FixtureCase.Open("clip", caseName);
        using var model = CLIPTextModelWithProjection.FromPretrained(fixture.Directory);
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        CLIPTextOutput result = model.Forward(inputs.Read("input_ids"));

        TensorAssert.Close(expected.Read("last_hidden_state"), result.LastHiddenState, "last_hidden_state");
        TensorAssert.Close(expected.Read("hidden_states_penultimate"), result.HiddenStates[^2], "hidden_states_penultimate");
        TensorAssert.Close(expected.Read("text_embeds"), result.TextEmbeds, "text_embeds");
        TensorAssert.Close(expected.Read("pooled_output"), result.PooledOutput, "pooled_output");
        TensorAssert.Close(expected.Read("hidden_states_all"), stack(result.HiddenStates), "hidden_states_all");
        Assert.Equal(expected.Read("pooled_index").data<long>().ToArray(), result.PooledIndex.data<long>().ToArray());
        output.WriteLine($"text_embeds max abs diff {TensorAssert.MaxAbsDiff(expected.Read("text_embeds"), result.TextEmbeds):G3}");
    }
}

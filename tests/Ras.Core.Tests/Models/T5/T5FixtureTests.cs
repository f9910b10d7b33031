using Ras.IO.Safetensors;
using Ras.Models.T5;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Tests.Models.T5;

/// <summary>T5 encoder cases under <c>&lt;fixtures&gt;/t5/</c>.</summary>
[Trait("Category", "Fixtures")]
public sealed class T5FixtureTests(ITestOutputHelper output)
{
    [FixtureCases("t5", "t5_encoder")]
    public void T5_encoder(string caseName)
    {
        using var fixture = FixtureCase.Open("t5", caseName);
        using var model = T5EncoderModel.FromPretrained(fixture.Directory);
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        Tensor ids = inputs.Read("input_ids");
        T5EncoderOutput result = model.Forward(ids, inputs.Contains("attention_mask") ? inputs.Read("attention_mask") : null);

        TensorAssert.Close(expected.Read("last_hidden_state"), result.LastHiddenState, "last_hidden_state");
        TensorAssert.Close(expected.Read("hidden_states_all"), stack(result.HiddenStates), "hidden_states_all");

        // Bias and buckets as functions of the distance d = j − i, at index d + S − 1: the last query row gives
        // d = −(S−1)..0, the first row d = 1..S−1.
        long s = ids.shape[1];
        Tensor bias = result.PositionBias[0];                                   // [H, S, S]
        Tensor byDistance = cat([bias.select(1, s - 1), bias.select(1, 0).narrow(1, 1, s - 1)], 1);
        TensorAssert.Close(expected.Read("position_bias_by_distance"), byDistance, "position_bias_by_distance");
        long[] buckets = Enumerable.Range(0, (int)((2 * s) - 1)).Select(i => T5RelativePosition.Bucket(i - (int)s + 1, model.Config.RelativeAttentionNumBuckets, model.Config.RelativeAttentionMaxDistance)).ToArray();
        Assert.Equal(expected.Read("relative_position_bucket_by_distance").data<long>().ToArray(), buckets);
        output.WriteLine($"last_hidden_state max abs diff {TensorAssert.MaxAbsDiff(expected.Read("last_hidden_state"), result.LastHiddenState):G3}");
    }
}

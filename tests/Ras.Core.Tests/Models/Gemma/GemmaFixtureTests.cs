using Ras.IO.Safetensors;
using Ras.Models.Gemma;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Gemma;

/// <summary>
/// Gemma text-encoder cases under <c>&lt;fixtures&gt;/gemma/</c>: every hidden state, compared where the attention
/// mask is 1 (pad positions are implementation-defined, but must be finite).
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class GemmaFixtureTests(ITestOutputHelper output)
{
    [FixtureCases("gemma", "gemma_text_encoder")]
    public void Gemma_text_encoder(string caseName)
    {
        using var fixture = FixtureCase.Open("gemma", caseName);
        using var model = GemmaModel.FromPretrained(fixture.Directory);
        using var inputs = SafetensorsFile.Open(fixture.PathOf("inputs.safetensors"));
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected.safetensors"));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        Tensor ids = inputs.Read("input_ids");
        Tensor mask = inputs.Read("attention_mask");
        Tensor valid = mask.ne(0);                                                   // [B, L]

        GemmaOutput result = model.Forward(ids, mask);
        Tensor all = stack(result.HiddenStates);                                     // [N+1, B, L, H]
        Assert.True(all.isfinite().all().item<bool>(), "a hidden state (pad positions included) holds NaN or infinity");
        Tensor expectedAll = expected.Read("hidden_states_all");
        Assert.Equal(expectedAll.shape, all.shape);
        for (int i = 0; i < all.shape[0]; i++)
        {
            CloseWhereValid(expectedAll[i], all[i], valid, $"hidden_states_all[{i}]");
        }

        CloseWhereValid(expected.Read("last_hidden_state"), result.LastHiddenState, valid, "last_hidden_state");
        Tensor penultimate = expected.Read("hidden_states_penultimate");
        CloseWhereValid(penultimate, result.PenultimateHiddenState, valid, "hidden_states_penultimate");

        // The Lumina entry point skips the last layer and the norm but must give the same features.
        Tensor features = model.PenultimateHiddenState(ids, mask);
        Assert.True(TensorAssert.Same(result.PenultimateHiddenState, features), "PenultimateHiddenState differs from Forward's hidden_states[-2]");
        output.WriteLine($"{caseName}: penultimate max abs diff at valid positions {TensorAssert.MaxAbsDiff(Valid(penultimate, valid), Valid(features, valid)):G3}");
    }

    /// <summary>The rows <c>[B, L, H]</c> where <paramref name="valid"/> <c>[B, L]</c> is true, as <c>[n, H]</c>.</summary>
    private static Tensor Valid(Tensor x, Tensor valid) => x.index(valid);

    private static void CloseWhereValid(Tensor expected, Tensor actual, Tensor valid, string name)
    {
        Assert.Equal(expected.shape, actual.shape);
        TensorAssert.Close(Valid(expected, valid), Valid(actual, valid), name + " (valid positions)");
    }
}

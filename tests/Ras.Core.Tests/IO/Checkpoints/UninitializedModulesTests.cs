using Ras.IO.Checkpoints;
using Ras.Models.Common;
using Ras.Models.Flux;
using Ras.Models.SD3;
using Ras.Models.T5;
using Ras.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Checkpoints;

/// <summary>Models built without random initialisation have the same tensors (names, shapes, dtypes, CPU storage) and draw no random numbers.</summary>
[Collection(SerialCollection.Name)]   // reads libtorch's global generator, which parallel tests draw from
public sealed class UninitializedModulesTests
{
    [Fact]
    public void Sd3_transformer_has_every_tensor_on_the_cpu_and_its_computed_position_table()
    {
        var config = TinyModels.Config(layers: 2, qkNorm: QkNorm.RmsNorm, dual: [0]);
        using var initialised = new SD3Transformer2DModel(config);
        using var bare = UninitializedModules.Construct(() => new SD3Transformer2DModel(config));
        AssertSameLayout(initialised, bare);
        var expected = initialised.state_dict();
        var actual = bare.state_dict();
        Assert.True(TensorAssert.Same(expected["pos_embed.pos_embed"], actual["pos_embed.pos_embed"]), "the sin-cos table is computed, not left empty");
    }

    [Fact]
    public void Construction_draws_no_random_numbers_and_leaves_the_default_device_alone()
    {
        var config = FluxTinyModels.Config(guidance: true, layers: 1, singleLayers: 1);
        manual_seed(5);
        using (UninitializedModules.Construct(() => new FluxTransformer2DModel(config)))
        {
        }

        using Tensor after = randn(4);
        manual_seed(5);
        using Tensor fresh = randn(4);
        Assert.True(TensorAssert.Same(fresh, after), "the generator advanced during construction");
        Assert.Null(ModuleConstruction.Device);
        Assert.Equal(DeviceType.CPU, get_default_device().type);
        using Tensor plain = zeros(1);
        Assert.Equal(DeviceType.CPU, plain.device_type);
    }

    /// <summary>
    /// Half storage allocates its float tensors in the stored dtype without touching libtorch's process-wide default dtype:
    /// a model another thread built meanwhile once got bf16 weights (a conv then failed on "bias type BFloat16").
    /// </summary>
    [Fact]
    public void Half_storage_allocates_in_its_dtype_and_leaves_the_default_dtype_alone()
    {
        var config = new T5Config { VocabSize = 20, DModel = 8, DKv = 2, DFf = 12, NumLayers = 1, NumHeads = 4, RelativeAttentionNumBuckets = 4, RelativeAttentionMaxDistance = 8 };
        ScalarType during = ScalarType.Float64;
        using var half = UninitializedModules.Construct(() =>
        {
            during = get_default_dtype();
            return new T5EncoderModel(config);
        }, ScalarType.BFloat16);
        Assert.Equal(ScalarType.Float32, during);
        Assert.Equal(ScalarType.Float32, get_default_dtype());
        Assert.All(half.state_dict(), kv => Assert.Equal(kv.Value.is_floating_point() ? ScalarType.BFloat16 : kv.Value.dtype, kv.Value.dtype));
        Assert.Contains(half.state_dict(), kv => kv.Value.is_floating_point());
    }

    [Fact]
    public void Native_backed_embeddings_compute_with_the_new_storage()
    {
        var config = new T5Config { VocabSize = 20, DModel = 8, DKv = 2, DFf = 12, NumLayers = 1, NumHeads = 4, RelativeAttentionNumBuckets = 4, RelativeAttentionMaxDistance = 8 };
        using var bare = UninitializedModules.Construct(() => new T5EncoderModel(config));
        using var initialised = new T5EncoderModel(config);
        AssertSameLayout(initialised, bare);
        using (no_grad())
        {
            foreach (var (key, tensor) in bare.state_dict())
            {
                tensor.copy_(initialised.state_dict()[key]);
            }
        }

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        Tensor ids = tensor(new long[] { 3, 7, 1, 0 }, [1, 4]);
        Tensor expected = initialised.Forward(ids).LastHiddenState;
        Assert.True(TensorAssert.Same(expected, bare.Forward(ids).LastHiddenState), "the embedding reads the weights the state dict holds");
    }

    private static void AssertSameLayout(nn.Module expected, nn.Module actual)
    {
        var want = expected.state_dict();
        var got = actual.state_dict();
        Assert.Equal(want.Keys.Order(StringComparer.Ordinal), got.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, tensor) in got)
        {
            Assert.Equal(want[key].shape, tensor.shape);
            Assert.Equal(want[key].dtype, tensor.dtype);
            Assert.Equal(DeviceType.CPU, tensor.device_type);
        }

        Assert.Equal(expected.parameters().Count(), actual.parameters().Count());
        Assert.All(actual.parameters(), p => Assert.Equal(DeviceType.CPU, p.device_type));
    }
}

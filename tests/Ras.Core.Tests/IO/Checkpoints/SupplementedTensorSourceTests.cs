using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Checkpoints;

public sealed class SupplementedTensorSourceTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private TensorStore Store()
    {
        using var scope = NewDisposeScope();
        string path = temp.File("part.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["weight"] = arange(6f).reshape(2, 3) });
        return TensorStore.OpenFile(path);
    }

    [Fact]
    public void Supplied_tensors_bind_alongside_the_stored_ones()
    {
        using var store = Store();
        var source = new SupplementedTensorSource(store, new Dictionary<string, SuppliedTensor> { ["projection"] = SuppliedTensor.Identity(3) });
        Assert.Equal(["weight", "projection"], source.Keys);
        Assert.Equal([3L, 3L], source.ShapeOf("projection"));
        Assert.Equal(ScalarType.Float32, source.DTypeOf("projection"));

        using var scope = NewDisposeScope();
        Tensor projection = full(3, 3, 5.0, dtype: float64);
        source.CopyInto("projection", projection);
        Assert.True(TensorAssert.Same(eye(3, dtype: float64), projection));
        Tensor weight = zeros(2, 3);
        source.CopyInto("weight", weight);
        Assert.Equal(5f, weight[1, 2].item<float>());
    }

    [Fact]
    public void A_key_the_source_holds_cannot_be_supplied()
    {
        using var store = Store();
        Assert.Throws<ArgumentException>(() => new SupplementedTensorSource(store, new Dictionary<string, SuppliedTensor> { ["weight"] = SuppliedTensor.Identity(3) }));
    }

    [Fact]
    public void Binding_stays_strict_for_everything_else()
    {
        using var store = Store();
        using var module = nn.Linear(3, 2, hasBias: true);
        var source = new SupplementedTensorSource(store, new Dictionary<string, SuppliedTensor> { ["extra"] = SuppliedTensor.Identity(2) });
        var error = Assert.Throws<CheckpointException>(() => StateDictBinder.Load(module, source));
        Assert.Equal(["bias"], error.Missing);
        Assert.Equal(["extra"], error.Unexpected);
    }
}

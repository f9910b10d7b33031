using Ras.Native;
using TorchSharp;

namespace Ras.Tests.Native;

public sealed class TorchNativeTests
{
    [Fact]
    public void TorchSharp_loads_and_computes()
    {
        TorchNative.EnsureLoadable();
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var product = a.matmul(a.t());
        Assert.Equal(new[] { 5f, 14f, 14f, 50f }, product.data<float>().ToArray());
    }
}

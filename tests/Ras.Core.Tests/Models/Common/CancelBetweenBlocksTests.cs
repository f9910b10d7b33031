using Ras.Models.Common;
using Ras.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Tests.Models.Common;

/// <summary>Issue 16: Ctrl+C during a long forward waited for the whole forward; the per-block hook now stops it between blocks.</summary>
public sealed class CancelBetweenBlocksTests
{
    private static Tensor Forward(Ras.Models.SD3.SD3Transformer2DModel model)
    {
        using var scope = NewDisposeScope();
        var config = model.Config;
        using var noGrad = no_grad();
        Tensor output = model.Forward(randn(1, config.InChannels, 8, 8), randn(1, 5, config.JointAttentionDim), randn(1, config.PooledProjectionDim), full([1], 500f));
        return output.MoveToOuterDisposeScope();
    }

    [Fact]
    public void A_cancelled_token_stops_the_forward_before_the_next_block_and_the_previous_hook_comes_back()
    {
        using var model = TinyModels.Model(TinyModels.Config(layers: 4));
        using var cancellation = new CancellationTokenSource();
        var recorder = new CancellingRecorder(cancellation, afterBlocks: 2);
        model.BlockWeights = recorder;
        using (CancelBetweenBlocks.Install(model, cancellation.Token))
        {
            Assert.Throws<OperationCanceledException>(() => Forward(model));
        }

        Assert.Equal(2, recorder.Calls);              // blocks 0 and 1 ran; block 2 never started
        Assert.Same(recorder, model.BlockWeights);    // restored
    }

    [Fact]
    public void An_uncancelled_token_changes_nothing()
    {
        using var model = TinyModels.Model(TinyModels.Config(layers: 3));
        manual_seed(5);
        using Tensor plain = Forward(model);
        using var cancellation = new CancellationTokenSource();
        using (CancelBetweenBlocks.Install(model, cancellation.Token))
        {
            manual_seed(5);
            using Tensor checkedForward = Forward(model);
            Assert.True(TensorAssert.Same(plain, checkedForward));
        }

        Assert.Null(model.BlockWeights);
    }

    private sealed class CancellingRecorder(CancellationTokenSource cancellation, int afterBlocks) : IBlockWeights
    {
        public int Calls { get; private set; }

        public IDisposable Use(nn.Module block)
        {
            if (++Calls == afterBlocks)
            {
                cancellation.Cancel();
            }

            return new Empty();
        }

        private sealed class Empty : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}

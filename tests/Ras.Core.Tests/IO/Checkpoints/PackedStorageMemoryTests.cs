using Ras.IO.Checkpoints;
using Ras.Models.Flux;
using Ras.Pipelines.Flux;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Checkpoints;

/// <summary>Weights read at use leave nothing behind: the live tensor count is the same after every forward.</summary>
[Collection(SerialCollection.Name)]   // counts every live tensor in the process
public sealed class PackedStorageMemoryTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Forwards_with_packed_blocks_do_not_grow_the_live_tensor_count()
    {
        string folder = TinyFluxPipelines.Write(temp.File("flux-dev"));
        string bfl = TinyFluxPipelines.WriteSingleFile(folder, temp.File("flux1-dev.safetensors"), allInOne: false);
        string gguf = TinyGgufFiles.FromSafetensors(bfl, temp.File("flux1-dev-Q8_0.gguf"), "flux");
        using var source = FluxPipelineSource.Open(gguf, folder, WeightStorage.Stored);
        using FluxTransformer2DModel model = source.LoadTransformer(null);
        using var inputs = NewDisposeScope();
        using var inference = inference_mode();
        var (text, pooled) = FluxTinyModels.Prompts(model.Config, 1);
        Tensor latents = FluxLatents.Pack(FluxTinyModels.Latents(model.Config, 1, 6, 8));
        Tensor time = tensor(new[] { 0.5f });
        Tensor guidance = tensor(new[] { 3.5f });
        Tensor imageIds = FluxLatents.ImageIds(3, 4);
        Tensor textIds = FluxLatents.TextIds(text.shape[1]);
        void Step()
        {
            using var scope = NewDisposeScope();
            model.Forward(latents, text, pooled, time, guidance, imageIds, textIds);
        }

        Step();                                  // the scratch arena is allocated once, here
        long baseline = Tensor.TotalCount;
        for (int i = 0; i < 3; i++)
        {
            Step();
            Assert.Equal(baseline, Tensor.TotalCount);
        }
    }
}

using Ras.IO.Checkpoints;
using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using Ras.Models.Common;
using Ras.Models.Flux;
using Ras.Pipelines;
using Ras.Models.SD3;
using Ras.Pipelines.Flux;
using Ras.Pipelines.SD3;
using Ras.Tests.Models.SD3;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Checkpoints;

/// <summary>
/// Quantized (GGUF) and fp8 checkpoints kept as stored (<see cref="WeightStorage.Stored"/>): block weights are read from
/// the mapped file and dequantized at use, and compute exactly what the fully dequantized float32 model computes.
/// </summary>
public sealed class PackedStorageTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Quantized_flux_blocks_are_read_at_use_and_match_float32_exactly()
    {
        var (folder, gguf) = FluxGguf();
        AssertStoredMatchesFull(gguf, folder);
    }

    [Fact]
    public void Scaled_fp8_flux_blocks_are_read_at_use_and_match_float32_exactly()
    {
        string folder = TinyFluxPipelines.Write(temp.File("flux-dev"));
        string bfl = TinyFluxPipelines.WriteSingleFile(folder, temp.File("flux1-dev.safetensors"), allInOne: false);
        string fp8 = Fp8Files.Copy(bfl, temp.File("flux1-dev-fp8.safetensors"), scale: 0.5f);
        AssertStoredMatchesFull(fp8, folder);
    }

    [Fact]
    public void Quantized_sd3_blocks_are_read_at_use_and_match_float32_exactly()
    {
        // Stability's layout (fused qkv read as row chunks) and an F32 pos_embed larger than any quantized matrix.
        string folder = TinyPipelines.WriteSd3Pipeline(temp.File("sd3"));
        string stability;
        using (var transformer = SD3Transformer2DModel.FromPretrained(Path.Combine(folder, "transformer")))
        {
            stability = SD3SingleFileConverterTests.WriteSingleFile(transformer, temp.File("sd3.safetensors"));
        }

        string gguf = TinyGgufFiles.FromSafetensors(stability, temp.File("sd3-Q8_0.gguf"), "sd3", SD3SingleFileConverter.Prefix);
        using var storedSource = SD3PipelineSource.Open(gguf, folder, WeightStorage.Stored);
        using var fullSource = SD3PipelineSource.Open(gguf, folder, WeightStorage.FullPrecision);
        using var stored = storedSource.LoadTransformer(null);
        using var full = fullSource.LoadTransformer(null);
        var weights = Assert.IsType<UpcastOnUse>(stored.BlockWeights);
        Assert.Null(weights.Storage);
        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var conditioning = TinyModels.Conditioning(full.Config, 2, guidance: false, textTokens: 5);
        Tensor latents = TinyModels.Latents(full.Config, 2, 8, 12);
        Tensor t = tensor(new float[] { 900, 300 });
        Tensor expected = full.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, t);
        Tensor actual = stored.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, t);
        Assert.True(TensorAssert.Same(expected, actual), $"max diff {TensorAssert.MaxAbsDiff(expected, actual)}");
    }

    [Fact]
    public async Task A_quantized_pipeline_draws_the_same_image_as_its_float32_model()
    {
        var (folder, gguf) = FluxGguf();
        var request = new ImageRequest { Prompts = ["a red circle"], Seed = 3, Steps = 3, Width = 32, Height = 16 };
        using var stored = TextToImagePipeline.Open(gguf, folder, storage: WeightStorage.Stored);
        using var full = TextToImagePipeline.Open(gguf, folder, storage: WeightStorage.FullPrecision);
        byte[] a = (await stored.GenerateAsync(request)).Images[0];
        byte[] b = (await full.GenerateAsync(request)).Images[0];
        Assert.Equal(b, a);
    }

    [Fact]
    public void Only_quantized_or_fp8_checkpoints_stay_packed()
    {
        var (folder, gguf) = FluxGguf();
        using var quantized = TensorStore.OpenFile(gguf);
        using var half = TensorStore.OpenComponent(Path.Combine(folder, "transformer"));
        Assert.True(ModelLoader.KeepsPacked(quantized, WeightStorage.Stored));
        Assert.False(ModelLoader.KeepsPacked(quantized, WeightStorage.FullPrecision));
        Assert.False(ModelLoader.KeepsPacked(quantized, WeightStorage.Auto));   // tiny: a float32 copy fits easily
        Assert.False(ModelLoader.KeepsPacked(half, WeightStorage.Stored));
    }

    [Fact]
    public void A_lease_keeps_the_file_open_and_its_pages_mapped_until_released()
    {
        var (_, gguf) = FluxGguf();
        var store = TensorStore.OpenFile(gguf);
        GgufFile file = store.Gguf!;
        string key = file.Tensors[0].Name;
        IDisposable lease = store.Retain()!;
        Assert.True(file.KeepsPagesMapped);                       // read at every use: pages stay
        using (IDisposable second = store.Retain()!)
        {
        }

        Assert.True(file.KeepsPagesMapped);                       // one lease still held
        lease.Dispose();
        Assert.False(file.KeepsPagesMapped);                      // the last reader at use is gone: back to releasing
        using (store.Retain())
        {
            store.Dispose();                                      // the owner closes it; the lease keeps it readable
            using Tensor value = store.Read(key);
            Assert.Equal(file.Get(key).Shape, value.shape);
        }

        Assert.Throws<ObjectDisposedException>(() => file.Get(key));   // closed with the last lease
    }

    [Fact]
    public void Gguf_rows_read_alone_equal_the_rows_of_the_whole_tensor()
    {
        var (_, gguf) = FluxGguf();
        using var file = GgufFile.Open(gguf);
        foreach (GgufTensorInfo info in file.Tensors.Where(t => t.Shape.Length == 2 && t.Shape[0] >= 3))
        {
            using Tensor whole = file.Read(info.Name);
            long start = info.Shape[0] / 3;
            long rows = info.Shape[0] - start - 1;
            using Tensor part = empty([rows, info.Shape[1]]);
            file.CopyRowsInto(info.Name, start, part);
            using Tensor expected = whole.narrow(0, start, rows);
            TensorAssert.Exact(expected, part, $"{info.Name} ({info.Type}) rows {start}..{start + rows}");
        }
    }

    private static void AssertStoredMatchesFull(string checkpoint, string folder)
    {
        FluxTransformer2DModel stored;
        using (var source = FluxPipelineSource.Open(checkpoint, folder, WeightStorage.Stored))
        {
            stored = source.LoadTransformer(null);
        }   // the file stays mapped for the model (a lease), not for the source

        using (stored)
        using (var fullSource = FluxPipelineSource.Open(checkpoint, folder, WeightStorage.FullPrecision))
        using (var full = fullSource.LoadTransformer(null))
        {
            Assert.Null(full.BlockWeights);
            var weights = Assert.IsType<UpcastOnUse>(stored.BlockWeights);
            Assert.Null(weights.Storage);
            Assert.Equal(0, weights.StoredBytes);                                                               // nothing copied into memory
            Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));        // no float32 copy at rest
            Assert.All(stored.ResidentModules.SelectMany(m => m.parameters()), p => Assert.Equal(ScalarType.Float32, p.dtype));

            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            FluxTransformerConfig config = full.Config;
            var (text, pooled) = FluxTinyModels.Prompts(config, 2);
            Tensor latents = FluxLatents.Pack(FluxTinyModels.Latents(config, 2, 6, 8));
            Tensor Run(FluxTransformer2DModel m) => m.Forward(latents, text, pooled, tensor(new[] { 0.9f, 0.3f }), tensor(new[] { 3.5f, 3.5f }),
                FluxLatents.ImageIds(3, 4), FluxLatents.TextIds(text.shape[1]));
            Tensor expected = Run(full);
            Assert.True(TensorAssert.Same(expected, Run(stored)), "weights read at use differ from the float32 model's");
            Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));        // emptied again after use
            long largestBlock = full.Blocks.Max(b => b.parameters().Sum(p => p.numel()));
            Assert.Equal(largestBlock * 4, weights.ScratchBytes);                                               // one block of float32, reused
            Assert.True(TensorAssert.Same(expected, Run(stored)), "a second forward gives the same result");
        }
    }

    private (string Folder, string Gguf) FluxGguf()
    {
        string folder = TinyFluxPipelines.Write(temp.File("flux-dev"));
        string bfl = TinyFluxPipelines.WriteSingleFile(folder, temp.File("flux1-dev.safetensors"), allInOne: false);
        return (folder, TinyGgufFiles.FromSafetensors(bfl, temp.File("flux1-dev-Q8_0.gguf"), "flux"));
    }
}

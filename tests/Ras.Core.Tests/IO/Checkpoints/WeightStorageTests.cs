using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Models.Common;
using Ras.Models.SD3;
using Ras.Models.T5;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Checkpoints;

/// <summary>Half-precision storage with per-block upcast computes exactly what float32 weights compute.</summary>
[Collection(SerialCollection.Name)]   // the stored mode switches libtorch's process-wide default dtype while building
public sealed class WeightStorageTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static void SaveAs(nn.Module model, string folder, string file, string config, ScalarType dtype)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), config);
        using var scope = NewDisposeScope();
        SafetensorsWriter.Write(Path.Combine(folder, file), model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to_type(dtype)));
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Stored_half_sd3_transformer_matches_float32_bit_for_bit(ScalarType dtype)
    {
        var config = TinyModels.Config(layers: 3, qkNorm: QkNorm.RmsNorm, dual: [0]);
        using (var model = TinyModels.Model(config))
        {
            SaveAs(model, temp.Path, "diffusion_pytorch_model.safetensors", config.ToJson(), dtype);
        }

        using var full = SD3Transformer2DModel.FromPretrained(temp.Path, storage: WeightStorage.FullPrecision);
        using var stored = SD3Transformer2DModel.FromPretrained(temp.Path, storage: WeightStorage.Stored);
        Assert.Null(full.BlockWeights);
        var weights = Assert.IsType<UpcastOnUse>(stored.BlockWeights);
        Assert.Equal(dtype, weights.Storage);
        long blockElements = full.Blocks.SelectMany(b => b.parameters()).Sum(p => p.numel());
        Assert.Equal(blockElements * 2, weights.StoredBytes);                                  // half precision, once
        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));   // no float32 copy at rest
        Assert.All(stored.ResidentModules.SelectMany(m => m.parameters()), p => Assert.Equal(ScalarType.Float32, p.dtype));

        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var conditioning = TinyModels.Conditioning(config, 2, guidance: false);
        Tensor latents = TinyModels.Latents(config, 2, 8, 12);
        Tensor t = tensor(new float[] { 900, 300 });
        Tensor expected = full.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, t);
        Tensor actual = stored.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, t);
        Assert.True(TensorAssert.Same(expected, actual), $"max diff {TensorAssert.MaxAbsDiff(expected, actual)}");
        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));     // emptied again after use
        Tensor again = stored.Forward(latents, conditioning.EncoderHiddenStates, conditioning.PooledProjections, t);
        Assert.True(TensorAssert.Same(expected, again), "a second forward gives the same result");
    }

    [Fact]
    public void Stored_half_t5_matches_float32_bit_for_bit()
    {
        WriteTinyT5(layers: 3, seed: 9, ScalarType.BFloat16);

        using var full = T5EncoderModel.FromPretrained(temp.File("t5"), storage: WeightStorage.FullPrecision);
        using var stored = T5EncoderModel.FromPretrained(temp.File("t5"), storage: WeightStorage.Stored);
        var streamed = Assert.IsType<UpcastOnUse>(stored.BlockWeights);
        Assert.Null(streamed.Storage);                                                          // an encoder reads its blocks from the file (BlockReads.Once)
        Assert.Equal(0, streamed.StoredBytes);
        Assert.All(stored.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        Tensor ids = tensor(new long[] { 3, 7, 1, 0, 0, 12, 49, 2 }, [2, 4]);
        Tensor expected = full.Forward(ids).LastHiddenState;
        Tensor actual = stored.Forward(ids).LastHiddenState;
        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.True(TensorAssert.Same(expected, actual), $"max diff {TensorAssert.MaxAbsDiff(expected, actual)}");
        Assert.True(TensorAssert.Same(expected, stored.Forward(ids).LastHiddenState), "a second forward gives the same result");

        // Built in bf16 without touching the process-wide default dtype (other threads build models too).
        ScalarType during = ScalarType.Float64;
        using var store = TensorStore.OpenComponent(temp.File("t5"), "model");
        var config = T5Config.Load(Path.Combine(temp.File("t5"), "config.json"));
        using var again = ModelLoader.Load(() =>
        {
            during = get_default_dtype();
            return new T5EncoderModel(config);
        }, store, WeightStorage.Stored, null, T5EncoderModel.Bind);
        Assert.Equal(ScalarType.Float32, during);
        Assert.Equal(ScalarType.BFloat16, Assert.IsType<UpcastOnUse>(again.BlockWeights).Storage);   // BlockReads.Repeated: copied into memory once
        Assert.True(TensorAssert.Same(expected, again.Forward(ids).LastHiddenState), "half blocks held in memory");
    }

    [Fact]
    public void Half_blocks_read_once_stream_from_the_file_without_keeping_its_pages()
    {
        WriteTinyT5(layers: 2, seed: 4, ScalarType.Float16);

        var config = T5Config.Load(Path.Combine(temp.File("t5"), "config.json"));
        string file = Path.Combine(temp.File("t5"), "model.safetensors");
        T5EncoderModel held;
        using (var heldStore = TensorStore.OpenFile(file))
        {
            held = ModelLoader.Load(() => new T5EncoderModel(config), heldStore, WeightStorage.Stored, null, T5EncoderModel.Bind);
        }

        var store = TensorStore.OpenFile(file);
        SafetensorsFile mapped = store.Safetensors!;
        T5EncoderModel streamed;
        using (store)
        {
            streamed = ModelLoader.Load(() => new T5EncoderModel(config), store, WeightStorage.Stored, null, T5EncoderModel.Bind, BlockReads.Once);
        }

        using (held)
        using (streamed)
        {
            Assert.Equal(ScalarType.Float16, Assert.IsType<UpcastOnUse>(held.BlockWeights).Storage);
            var weights = Assert.IsType<UpcastOnUse>(streamed.BlockWeights);
            Assert.Null(weights.Storage);
            Assert.Equal(0, weights.StoredBytes);                                                       // no copy of the blocks in memory
            Assert.All(streamed.Blocks.SelectMany(b => b.parameters()), p => Assert.Equal(0, p.numel()));
            Assert.False(mapped.KeepsPagesMapped);                                                      // each read releases its pages
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            Tensor ids = tensor(new long[] { 3, 7, 1, 0, 0, 12, 49, 2 }, [2, 4]);
            Tensor expected = held.Forward(ids).LastHiddenState;
            Assert.True(TensorAssert.Same(expected, streamed.Forward(ids).LastHiddenState), "streamed fp16 blocks differ from fp16 blocks held in memory");
            Assert.True(TensorAssert.Same(expected, streamed.Forward(ids).LastHiddenState), "a second forward reads the file again");
        }

        Assert.Throws<ObjectDisposedException>(() => mapped.Get("shared.weight"));   // the model's lease closed the file with it
    }

    [Fact]
    public void Auto_keeps_float32_checkpoints_and_small_half_ones_in_float32()
    {
        var config = TinyModels.Config();
        using (var model = TinyModels.Model(config))
        {
            SaveAs(model, temp.File("half"), "diffusion_pytorch_model.safetensors", config.ToJson(), ScalarType.Float16);
            SaveAs(model, temp.File("full"), "diffusion_pytorch_model.safetensors", config.ToJson(), ScalarType.Float32);
        }

        using var half = TensorStore.OpenComponent(temp.File("half"));
        using var full = TensorStore.OpenComponent(temp.File("full"));
        Assert.Null(ModelLoader.ChooseHalfStorage(half, WeightStorage.Auto));       // tiny: a float32 copy fits easily
        Assert.Equal(ScalarType.Float16, ModelLoader.ChooseHalfStorage(half, WeightStorage.Stored));
        Assert.Null(ModelLoader.ChooseHalfStorage(full, WeightStorage.Stored));     // nothing to save
        Assert.Null(ModelLoader.ChooseHalfStorage(half, WeightStorage.FullPrecision));
    }

    /// <summary>Writes a tiny random T5 encoder in <paramref name="dtype"/> as the transformers folder <c>t5</c>.</summary>
    private void WriteTinyT5(int layers, int seed, ScalarType dtype)
    {
        string json = $$"""{"vocab_size": 50, "d_model": 16, "d_kv": 4, "d_ff": 24, "num_layers": {{layers}}, "num_heads": 4, "relative_attention_num_buckets": 8, "relative_attention_max_distance": 16, "feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu_new"}""";
        manual_seed(seed);
        using var model = new T5EncoderModel(T5Config.Load(WriteText("cfg.json", json)));
        SaveAs(model, temp.File("t5"), "model.safetensors", json, dtype);
    }

    private string WriteText(string name, string text)
    {
        File.WriteAllText(temp.File(name), text);
        return temp.File(name);
    }
}

using System.Text.Json;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Models.SD3;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Checkpoints;

public sealed class StateDictBinderTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Every_missing_unexpected_and_misshaped_key_is_listed_at_once()
    {
        var config = TinyModels.Config();
        using var model = TinyModels.Model(config);
        var state = model.state_dict();
        var broken = new Dictionary<string, Tensor>(state);
        broken.Remove("proj_out.bias");
        broken.Remove("transformer_blocks.1.ff.net.2.weight");
        broken["transformer_blocks.0.attn.to_q.weight"] = zeros(3, 3);
        broken["extra.weight"] = zeros(1);
        string path = temp.File("broken.safetensors");
        SafetensorsWriter.Write(path, broken);

        using var target = TinyModels.Model(config, seed: 2);
        using var store = TensorStore.OpenFile(path);
        var error = Assert.Throws<CheckpointException>(() => StateDictBinder.Load(target, store));
        Assert.Equal(["proj_out.bias", "transformer_blocks.1.ff.net.2.weight"], error.Missing);
        Assert.Equal(["extra.weight"], error.Unexpected);
        Assert.Single(error.Mismatched);
        Assert.Contains("transformer_blocks.0.attn.to_q.weight: checkpoint [3, 3] vs model [16, 16]", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sharded_checkpoint_loads_through_its_index()
    {
        var config = TinyModels.Config();
        using var model = TinyModels.Model(config);
        var state = model.state_dict();
        var keys = state.Keys.Order(StringComparer.Ordinal).ToList();
        var first = keys.Take(keys.Count / 2).ToDictionary(k => k, k => state[k]);
        var second = keys.Skip(keys.Count / 2).ToDictionary(k => k, k => state[k]);
        SafetensorsWriter.Write(temp.File("diffusion_pytorch_model-00001-of-00002.safetensors"), first);
        SafetensorsWriter.Write(temp.File("diffusion_pytorch_model-00002-of-00002.safetensors"), second);
        var weightMap = first.Keys.ToDictionary(k => k, _ => "diffusion_pytorch_model-00001-of-00002.safetensors")
            .Concat(second.Keys.ToDictionary(k => k, _ => "diffusion_pytorch_model-00002-of-00002.safetensors"))
            .ToDictionary();
        File.WriteAllText(temp.File("diffusion_pytorch_model.safetensors.index.json"),
            JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = weightMap }));

        using var target = TinyModels.Model(config, seed: 2);
        using (var store = TensorStore.OpenComponent(temp.Path))
        {
            StateDictBinder.Load(target, store);
        }

        var loaded = target.state_dict();
        Assert.All(keys, k => Assert.True(TensorAssert.Same(state[k], loaded[k]), k));
    }

    [Fact]
    public void Folder_without_weights_is_an_input_error()
    {
        var error = Assert.Throws<RasInputException>(() => TensorStore.OpenComponent(temp.Path));
        Assert.Contains("no weights found", error.Message, StringComparison.Ordinal);
    }
}

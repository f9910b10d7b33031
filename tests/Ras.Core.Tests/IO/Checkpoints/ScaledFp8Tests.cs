using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Safetensors;
using Ras.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Checkpoints;

/// <summary>
/// ComfyUI's scaled fp8 layout (<c>X.weight</c> in fp8 with a float32 <c>X.scale_weight</c>): loaders see weight × scale in
/// float32 and no scale tensors; <c>ras convert</c> keeps the scales unless asked to apply them.
/// </summary>
public sealed class ScaledFp8Tests : IDisposable
{
    private static readonly float[] Weight = [1f, 1.5f, -2f, 0.25f, 448f, -0.125f];
    private const float Scale = 0.3f;

    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private string WriteScaledFile(string name = "scaled.safetensors", long[]? scaleShape = null) => RawSafetensors.Write(temp.File(name),
    [
        new("model.diffusion_model.scaled_fp8", "F8_E4M3", [0], []),
        new("lin.weight", "F8_E4M3", [2, 3], Weight.Select(RawSafetensors.E4M3).ToArray()),
        new("lin.scale_weight", "F32", scaleShape ?? [], GgufWriter.F32(Enumerable.Repeat(Scale, (int)(scaleShape ?? []).Aggregate(1L, (a, b) => a * b)).ToArray())),
        new("lin.scale_input", "F32", [], GgufWriter.F32(1f)),
        new("lin.bias", "BF16", [2], [0x80, 0x3F, 0x00, 0xC0]),          // 1.0, -2.0
        new("other.weight", "F8_E5M2", [2], [0x3C, 0x7C]),                 // 1.0, +inf
    ], new Dictionary<string, string> { ["format"] = "pt" });

    private static float[] Scaled => Weight.Select(w => w * Scale).ToArray();   // float32 products, as the loader computes them

    [Fact]
    public void Loaders_see_weight_times_scale_and_no_scale_tensors()
    {
        using var store = TensorStore.OpenFile(WriteScaledFile());
        Assert.Equal(["lin.bias", "lin.weight", "other.weight"], store.Keys.Order(StringComparer.Ordinal));
        Assert.False(store.Contains("lin.scale_weight"));
        Assert.Equal(ScalarType.Float32, store.DTypeOf("lin.weight"));
        Assert.Equal(ScalarType.BFloat16, store.DTypeOf("other.weight"));   // fp8 is exact in bfloat16
        Assert.Equal("lin.scale_weight", store.AppliedScales["lin.weight"]);

        using var module = nn.Sequential(("lin", nn.Linear(3, 2)));
        StateDictBinder.Load(module, store, ignore: key => key == "other.weight");
        using Tensor expected = tensor(Scaled).reshape(2, 3);
        TensorAssert.Exact(expected, module.state_dict()["lin.weight"], "lin.weight");
        TensorAssert.Exact(tensor(new[] { 1f, -2f }), module.state_dict()["lin.bias"], "lin.bias");
        using Tensor other = store.Read("other.weight", ScalarType.Float32);
        TensorAssert.Exact(tensor(new[] { 1f, float.PositiveInfinity }), other, "other.weight");
    }

    [Fact]
    public void Convert_keeps_the_scales_unless_asked_to_apply_them()
    {
        string input = WriteScaledFile();
        string kept = temp.File("kept.safetensors");
        ConversionResult plain = CheckpointConversion.Convert(input, kept);
        Assert.Equal(0, plain.ScalesApplied);
        using (var file = SafetensorsFile.Open(kept))
        {
            Assert.Equal(["lin.bias", "lin.scale_input", "lin.scale_weight", "lin.weight", "model.diffusion_model.scaled_fp8", "other.weight"],
                file.Entries.Keys.Order(StringComparer.Ordinal));
            Assert.All(file.Entries.Values, e => Assert.Equal("F32", e.StoredDType));
            TensorAssert.Exact(tensor(Weight).reshape(2, 3), file.Read("lin.weight"), "lin.weight as stored");
            Assert.Equal(new long[] { 0 }, file.Get("model.diffusion_model.scaled_fp8").Shape);
            Assert.Equal("pt", file.Metadata["format"]);
        }

        string applied = temp.File("applied.safetensors");
        Assert.Equal(1, CheckpointConversion.Convert(input, applied, applyScales: true).ScalesApplied);
        using (var file = SafetensorsFile.Open(applied))
        {
            Assert.Equal(["lin.bias", "lin.weight", "other.weight"], file.Entries.Keys.Order(StringComparer.Ordinal));
            TensorAssert.Exact(tensor(Scaled).reshape(2, 3), file.Read("lin.weight"), "lin.weight × scale");
        }

        string half = temp.File("half.safetensors");
        CheckpointConversion.Convert(input, half, ScalarType.BFloat16);
        using (var file = SafetensorsFile.Open(half))
        {
            Assert.Equal("BF16", file.Get("lin.weight").StoredDType);
            TensorAssert.Exact(tensor(Weight).reshape(2, 3), file.Read("lin.weight"), "fp8 → bf16 is exact");
        }
    }

    [Fact]
    public void Per_channel_scales_broadcast_and_misfit_scales_are_named()
    {
        using (var store = TensorStore.OpenFile(WriteScaledFile("rows.safetensors", [2, 1])))
        {
            TensorAssert.Exact(tensor(Scaled).reshape(2, 3), store.Read("lin.weight"), "per-row scale");
        }

        var error = Assert.Throws<CheckpointException>(() => TensorStore.OpenFile(WriteScaledFile("bad.safetensors", [2])));
        Assert.Contains("lin.scale_weight: scale [2] does not broadcast to weight [2, 3]", error.Message, StringComparison.Ordinal);
    }
}

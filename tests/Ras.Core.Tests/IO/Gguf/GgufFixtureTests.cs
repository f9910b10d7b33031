using System.Text.Json;
using Ras.IO.Checkpoints;
using Ras.IO.Gguf;
using Ras.IO.Safetensors;
using Ras.Models.Flux;
using Ras.Tests.Fixtures;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Gguf;

/// <summary>
/// Every case of <c>fixtures/gguf</c> through the library: each tensor of the input (GGUF or fp8 safetensors) read as
/// float32 equals <c>expected.safetensors</c> exactly (NaN where NaN, +0 == −0), with the same names and row-major shapes;
/// a GGUF header matches the case's numbers, metadata and tensor infos; a Flux case through the BFL converter equals
/// <c>expected_diffusers.safetensors</c>.
/// </summary>
[Trait("Category", "Fixtures")]
public sealed class GgufFixtureTests
{
    [FixtureCases("gguf")]
    public void Every_tensor_dequantizes_to_the_reference_bit_for_bit(string caseName)
    {
        using var fixture = FixtureCase.Open("gguf", caseName);
        string input = fixture.PathOf(fixture.Json.GetProperty("input").GetString()!);
        using var expected = SafetensorsFile.Open(fixture.PathOf(fixture.Json.GetProperty("expected").GetString()!));
        using var store = TensorStore.OpenFile(input, applyScales: false);
        Assert.Equal(expected.Entries.Keys.Order(StringComparer.Ordinal), store.Keys.Order(StringComparer.Ordinal));
        foreach (string name in expected.Entries.Keys)
        {
            using var scope = NewDisposeScope();
            Tensor want = expected.Read(name);
            Assert.Equal(ScalarType.Float32, want.dtype);
            TensorAssert.Exact(want, store.Read(name, ScalarType.Float32), name);

            // The same values through CopyInto, into float32 and (for fp8, exact there too) bfloat16.
            Tensor into = empty(store.ShapeOf(name), ScalarType.Float32);
            store.CopyInto(name, into);
            TensorAssert.Exact(want, into, name + " (CopyInto)");
            if (store.Describe(name).Format.StartsWith("F8_", StringComparison.Ordinal))
            {
                Tensor half = empty(store.ShapeOf(name), ScalarType.BFloat16);
                store.CopyInto(name, half);
                TensorAssert.Exact(want, half, name + " (bfloat16)");
            }
        }

        if (store.Gguf is GgufFile gguf)
        {
            CheckHeader(fixture.Json, gguf);
        }
    }

    [FixtureCases("gguf")]
    public void A_flux_case_through_the_bfl_converter_equals_the_diffusers_tensors(string caseName)
    {
        using var fixture = FixtureCase.Open("gguf", caseName);
        if (!fixture.Json.TryGetProperty("flux", out _))
        {
            return;   // not a Flux case
        }

        using var store = TensorStore.OpenFile(fixture.PathOf(fixture.Json.GetProperty("input").GetString()!));
        Assert.True(FluxSingleFileConverter.Matches(store));
        FluxTransformerConfig config = FluxTransformerConfig.Load(fixture.PathOf("transformer_config.json"));
        MappedTensorSource converted = FluxSingleFileConverter.Convert(store, config);
        using var expected = SafetensorsFile.Open(fixture.PathOf("expected_diffusers.safetensors"));
        Assert.Equal(expected.Entries.Keys.Order(StringComparer.Ordinal), converted.Keys.Order(StringComparer.Ordinal));
        foreach (string name in expected.Entries.Keys)
        {
            using var scope = NewDisposeScope();
            Tensor actual = empty(converted.ShapeOf(name), ScalarType.Float32);
            converted.CopyInto(name, actual);
            TensorAssert.Exact(expected.Read(name), actual, name);
        }

        // The model binds it strictly (every key used once, every shape right).
        using var model = new FluxTransformer2DModel(config);
        StateDictBinder.Load(model, converted);
    }

    private static void CheckHeader(JsonElement json, GgufFile gguf)
    {
        JsonElement header = json.GetProperty("gguf");
        Assert.Equal(header.GetProperty("version").GetUInt32(), gguf.Version);
        Assert.Equal(header.GetProperty("tensor_count").GetInt32(), gguf.Tensors.Count);
        Assert.Equal(header.GetProperty("kv_count").GetInt32(), gguf.Metadata.Count);
        Assert.Equal(header.GetProperty("alignment").GetInt64(), gguf.Alignment);
        Assert.Equal(header.GetProperty("data_offset").GetInt64(), gguf.DataOffset);
        Assert.Equal(header.GetProperty("file_bytes").GetInt64(), gguf.FileLength);

        int i = 0;
        foreach (JsonElement item in json.GetProperty("metadata").EnumerateArray())
        {
            var (key, value) = gguf.Metadata[i++];
            Assert.Equal(item.GetProperty("key").GetString(), key);
            Assert.Equal(item.GetProperty("type").GetString(), TypeName(value.Type));
            if (value.Type == GgufValueType.Array)
            {
                Assert.Equal(item.GetProperty("element_type").GetString(), TypeName(value.ElementType!.Value));
                var array = (Array)value.Value;
                Assert.Equal(item.GetProperty("value").GetArrayLength(), array.Length);
                int j = 0;
                foreach (JsonElement element in item.GetProperty("value").EnumerateArray())
                {
                    AssertScalar(element, array.GetValue(j++)!, key);
                }
            }
            else
            {
                AssertScalar(item.GetProperty("value"), value.Value, key);
            }
        }

        i = 0;
        foreach (JsonElement item in json.GetProperty("tensors").EnumerateArray())
        {
            GgufTensorInfo info = gguf.Tensors[i++];
            Assert.Equal(item.GetProperty("name").GetString(), info.Name);
            Assert.Equal(item.GetProperty("ggml_type").GetString(), info.Type.ToString());
            Assert.Equal(item.GetProperty("ggml_type_id").GetInt32(), (int)info.Type);
            Assert.Equal(item.GetProperty("ne").EnumerateArray().Select(e => e.GetInt64()), info.Ne);
            Assert.Equal(item.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), info.Shape);
            Assert.Equal(item.GetProperty("bytes").GetInt64(), info.ByteLength);
            Assert.Equal(item.GetProperty("offset_in_data").GetInt64(), info.Offset);
        }
    }

    private static string TypeName(GgufValueType type) => type switch
    {
        GgufValueType.Float32 => "FLOAT32",
        GgufValueType.Float64 => "FLOAT64",
        _ => type.ToString().ToUpperInvariant(),
    };

    private static void AssertScalar(JsonElement expected, object actual, string key)
    {
        switch (actual)
        {
            case string s: Assert.Equal(expected.GetString(), s); break;
            case bool b: Assert.Equal(expected.GetBoolean(), b); break;
            case float f: Assert.Equal(expected.GetDouble(), (double)f); break;
            case double d: Assert.Equal(expected.GetDouble(), d); break;
            case ulong u: Assert.Equal(expected.GetUInt64(), u); break;
            default: Assert.True(Convert.ToInt64(actual, System.Globalization.CultureInfo.InvariantCulture) == expected.GetInt64(), key); break;
        }
    }
}

using System.Buffers.Binary;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Gguf;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Gguf;

/// <summary>The GGUF reader: what it accepts (every value type, v2, alignment, shapes) and every rejection, each naming the file and the tensor or key.</summary>
public sealed class GgufFileTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static GgufWriter Small() => new GgufWriter()
        .String("general.architecture", "test")
        .Tensor("w", GgufTensorType.F32, [2, 3], GgufWriter.F32(1, 2, 3, 4, 5, 6));

    [Fact]
    public void Every_value_type_and_nested_arrays_are_read()
    {
        string path = new GgufWriter()
            .UInt8("u8", 200).Int8("i8", -100).UInt16("u16", 60000).Int16("i16", -30000).UInt32("u32", 4_000_000_000).Int32("i32", -7)
            .Float32("f32", 0.15625f).Bool("b", true).String("s", "héllo").UInt64("u64", ulong.MaxValue).Int64("i64", long.MinValue).Float64("f64", -2.5)
            .Strings("names", "a", "", "ccc").Int32s("ints", 3, 1, 4)
            .Array("nested", GgufValueType.Array, 2, w =>
            {
                w.Write((uint)GgufValueType.Int32);
                w.Write(2UL);
                w.Write(1);
                w.Write(2);
                w.Write((uint)GgufValueType.String);
                w.Write(1UL);
                GgufWriter.WriteString(w, "x");
            })
            .Tensor("w", GgufTensorType.F32, [1], GgufWriter.F32(1))
            .Write(temp.File("values.gguf"));
        using var file = GgufFile.Open(path);
        var values = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal((byte)200, values["u8"].Value);
        Assert.Equal((sbyte)-100, values["i8"].Value);
        Assert.Equal((ushort)60000, values["u16"].Value);
        Assert.Equal((short)-30000, values["i16"].Value);
        Assert.Equal(4_000_000_000u, values["u32"].Value);
        Assert.Equal(-7, values["i32"].Value);
        Assert.Equal(0.15625f, values["f32"].Value);
        Assert.Equal(true, values["b"].Value);
        Assert.Equal("héllo", values["s"].Value);
        Assert.Equal(ulong.MaxValue, values["u64"].Value);
        Assert.Equal(long.MinValue, values["i64"].Value);
        Assert.Equal(-2.5, values["f64"].Value);
        Assert.Equal(new[] { "a", "", "ccc" }, values["names"].Value);
        Assert.Equal(new[] { 3, 1, 4 }, values["ints"].Value);
        var nested = (GgufValue[])values["nested"].Value;
        Assert.Equal(GgufValueType.Array, values["nested"].ElementType);
        Assert.Equal(new[] { 1, 2 }, nested[0].Value);
        Assert.Equal(new[] { "x" }, nested[1].Value);
        Assert.Equal("INT32[3] [3, 1, 4]", values["ints"].Display());
        Assert.EndsWith("…", new GgufValue(GgufValueType.String, new string('a', 200)).Display(40), StringComparison.Ordinal);
    }

    [Fact]
    public void Version_2_alignment_and_shapes_are_honoured()
    {
        float[] values = Enumerable.Range(0, 64).Select(i => i * 0.5f).ToArray();
        var writer = new GgufWriter { Version = 2, Alignment = 64 }
            .Tensor("a", GgufTensorType.F32, [3], GgufWriter.F32(1, 2, 3))
            .Tensor("b", GgufTensorType.F32, [1, 1, 64], GgufWriter.F32(values));
        string path = writer.Write(temp.File("v2.gguf"));
        using var file = GgufFile.Open(path);
        Assert.Equal(2u, file.Version);
        Assert.Equal(64, file.Alignment);
        Assert.Equal(0, file.DataOffset % 64);
        Assert.Equal(64, file.Get("b").Offset);
        Assert.Equal(new long[] { 1, 1, 64 }, file.Get("b").Shape);
        Assert.Equal(new long[] { 64, 1, 1 }, file.Get("b").Ne);
        using Tensor b = file.Read("b");
        Assert.Equal(new long[] { 1, 1, 64 }, b.shape);
        Assert.Equal(31.5f, b[0, 0, 63].item<float>());

        // Any float destination, contiguous or not.
        using Tensor half = empty(1, 1, 64, ScalarType.Float16);
        file.CopyInto("b", half);
        Assert.Equal(31.5f, half[0, 0, 63].to_type(ScalarType.Float32).item<float>());
        using Tensor wide = zeros(1, 64, 2, ScalarType.Float64);
        using Tensor strided = wide.select(2, 1).unsqueeze(1);
        file.CopyInto("b", strided);
        Assert.Equal(31.5, wide[0, 63, 1].item<double>());
    }

    [Fact]
    public void A_gguf_file_is_a_tensor_store_with_row_major_shapes()
    {
        float[] values = Enumerable.Range(0, 64 * 3).Select(i => MathF.Sin(i)).ToArray();
        string path = new GgufWriter().String("general.architecture", "flux")
            .Quantized("q", GgufTensorType.Q8_0, [3, 64], values)
            .Tensor("h", GgufTensorType.F16, [2], [0x00, 0x3C, 0x00, 0xC0])
            .Write(temp.File("store.bin"));   // found by its magic, not its name
        using var store = TensorStore.OpenFile(path);
        Assert.Equal("flux", store.Gguf!.Architecture);
        Assert.Equal(new long[] { 3, 64 }, store.ShapeOf("q"));
        Assert.Equal(ScalarType.Float32, store.DTypeOf("q"));
        Assert.Equal(ScalarType.Float16, store.DTypeOf("h"));
        Assert.Equal("Q8_0", store.Describe("q").Format);
        Assert.Equal(3 * 2 * 34, store.Describe("q").ByteLength);
        using Tensor h = store.Read("h");
        Assert.Equal(ScalarType.Float16, h.dtype);
        Assert.Equal(-2f, h[1].to_type(ScalarType.Float32).item<float>());
        using Tensor q = store.Read("q");
        Assert.True(TensorAssert.MaxAbsDiff(tensor(values).reshape(3, 64), q) < 0.01);
    }

    [Fact]
    public void Not_gguf_truncated_header_big_endian_and_other_versions_are_rejected()
    {
        Assert.Contains("not a GGUF file", Reject(Bytes("GGUX", 3)));
        Assert.Contains("too short", Reject("GGUF\x03\0\0\0"u8.ToArray()));
        Assert.Contains("big-endian", Reject(Bytes("GGUF", BinaryPrimitives.ReverseEndianness(3u))));
        Assert.Contains("version 1", Reject(Bytes("GGUF", 1)));
        Assert.Contains("unsupported GGUF version 7", Reject(Bytes("GGUF", 7)));
        Assert.Contains("file not found", Assert.Throws<GgufException>(() => GgufFile.Open(temp.File("absent.gguf"))).Message);
    }

    [Fact]
    public void Absurd_counts_and_lengths_are_refused_before_allocating()
    {
        Assert.Contains("limit of 65536", Reject(Header(tensors: 1UL << 40, kvs: 0)));
        Assert.Contains("cannot fit", Reject(Header(tensors: 1000, kvs: 0)));
        Assert.Contains("metadata pairs", Reject(Header(tensors: 0, kvs: ulong.MaxValue)));

        // A key claiming 2^62 bytes; a string value claiming more than is left; an array of 2^40 elements.
        Assert.Contains("more than the limit", Reject([.. Header(0, 1), .. U64(1UL << 62), .. new byte[64]]));
        Assert.Contains("only", Reject(new GgufWriter().Raw("k", 8, [.. U64(1000), .. "abc"u8.ToArray()]).Build()));
        Assert.Contains("exceeds the limit", Reject(new GgufWriter().Raw("k", 9, [.. U32(5), .. U64(1UL << 40)]).Build()));
        Assert.Contains("cannot fit", Reject(new GgufWriter().Raw("k", 9, [.. U32(8), .. U64(1000)]).Build()));
        Assert.Contains("nested more than", Reject(new GgufWriter().Raw("k", 9, Enumerable.Repeat<byte[]>([.. U32(9), .. U64(1)], 20).SelectMany(b => b).ToArray()).Build()));
        Assert.Contains("unknown metadata value type 13", Reject(new GgufWriter().Raw("k", 13, [0]).Build()));
        Assert.Contains("BOOL holds 2", Reject(new GgufWriter().Raw("k", 7, [2]).Build()));
    }

    [Fact]
    public void Keys_and_names_must_be_unique_and_valid_utf8()
    {
        Assert.Contains("key 'a': appears twice", Reject(new GgufWriter().UInt8("a", 1).UInt8("a", 2).Build()));
        Assert.Contains("tensor 'w': appears twice", Reject(Small().Tensor("w", GgufTensorType.F32, [1], GgufWriter.F32(1)).Build()));
        byte[] bad = Small().Build();
        int at = IndexOf(bad, "architecture"u8.ToArray());
        bad[at] = 0xFF;
        Assert.Contains("not valid UTF-8", Reject(bad));
    }

    [Fact]
    public void Tensor_info_errors_name_the_tensor()
    {
        Assert.Contains("tensor 'x': n_dims is 0", Reject(Small().Tensor(new("x", GgufTensorType.F32, [1], GgufWriter.F32(1)) { Dims = 0 }).Build()));
        Assert.Contains("tensor 'x': n_dims is 5", Reject(new GgufWriter().Tensor(new("x", GgufTensorType.F32, [1, 1, 1, 1, 1], GgufWriter.F32(1)) { Dims = 5 }).Build()));
        Assert.Contains("tensor 'x': unknown ggml type id 99", Reject(new GgufWriter().Tensor(new("x", GgufTensorType.F32, [1], GgufWriter.F32(1)) { TypeId = 99 }).Build()));
        Assert.Contains("not a whole number of Q8_0 blocks of 32", Reject(new GgufWriter().Tensor("x", GgufTensorType.Q8_0, [2, 48], new byte[102]).Build()));
        Assert.Contains("too large", Reject(new GgufWriter().Tensor(new("x", GgufTensorType.F32, [1L << 40, 1L << 40], []) { }).Build()));
    }

    [Fact]
    public void Offsets_misaligned_out_of_range_or_overlapping_are_rejected()
    {
        Assert.Contains("tensor 'b': data offset 16 is not a multiple of the alignment 32",
            Reject(Small().Tensor(new("b", GgufTensorType.F32, [1], GgufWriter.F32(1)) { Offset = 16 }).Build()));
        Assert.Contains("tensor 'b': 4 bytes at data offset 4096 lie outside",
            Reject(Small().Tensor(new("b", GgufTensorType.F32, [1], GgufWriter.F32(1)) { Offset = 4096 }).Build()[..300]));
        Assert.Contains("overlaps tensor 'w'", Reject(Small().Tensor(new("b", GgufTensorType.F32, [1], GgufWriter.F32(1)) { Offset = 0 }).Build()));

        byte[] whole = Small().Tensor("big", GgufTensorType.F32, [64], new byte[256]).Build();
        Assert.Contains("tensor 'big'", Reject(whole[..^40]));
        Assert.Contains("truncated", Reject(whole[..^40]));
    }

    [Fact]
    public void Alignment_must_be_a_uint32_power_of_two()
    {
        Assert.Contains("key 'general.alignment': must be a UINT32", Reject(Small().Int32("general.alignment", 64).Build()));
        Assert.Contains("non-zero power of two", Reject(Small().UInt32("general.alignment", 48).Build()));
        Assert.Contains("non-zero power of two", Reject(Small().UInt32("general.alignment", 0).Build()));
    }

    [Fact]
    public void Unsupported_types_open_but_reading_them_names_the_tensor_and_type()
    {
        string path = new GgufWriter().Tensor("iq", GgufTensorType.Q8_K, [1, 256], new byte[292]).Tensor("f", GgufTensorType.F32, [1], GgufWriter.F32(2))
            .Write(temp.File("q8k.gguf"));
        using var file = GgufFile.Open(path);
        Assert.Equal(2f, file.Read("f").item<float>());
        var error = Assert.Throws<GgufException>(() => file.Read("iq"));
        Assert.Equal("tensor 'iq'", error.Subject);
        Assert.Contains("Q8_K (15)", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_truncated_on_disk_after_open_is_an_error_not_a_crash()
    {
        string path = Small().Tensor("big", GgufTensorType.F32, [4096], new byte[4 * 4096]).Write(temp.File("shrinks.gguf"));
        using var file = GgufFile.Open(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(64);
        }

        var error = Assert.Throws<GgufException>(() => file.Read("big"));
        Assert.Contains("changed on disk", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    private string Reject(byte[] bytes)
    {
        string path = temp.File($"bad{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<GgufException>(() => GgufFile.Open(path));
        Assert.Equal(path, error.FilePath);
        Assert.StartsWith(path + ": ", error.Message, StringComparison.Ordinal);
        return error.Message;
    }

    private static byte[] Bytes(string magic, uint version) => [.. System.Text.Encoding.ASCII.GetBytes(magic), .. U32(version), .. new byte[16]];

    private static byte[] Header(ulong tensors, ulong kvs) => [.. "GGUF"u8.ToArray(), .. U32(3), .. U64(tensors), .. U64(kvs)];

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}

using System.Buffers.Binary;
using System.Text;
using Ras.Errors;
using Ras.IO.Safetensors;
using Ras.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ras.Tests.IO.Safetensors;

public sealed class SafetensorsFileTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Round_trip_keeps_every_dtype_shape_value_and_metadata()
    {
        string path = temp.File("all.safetensors");
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64"] = tensor(new[] { 1.5, -2.25 }, float64),
            ["f32"] = arange(12, dtype: float32).reshape(3, 4),
            ["f16"] = tensor(new[] { 0.5f, 3f }).to_type(float16),
            ["bf16"] = tensor(new[] { -1f, 8f }).to_type(bfloat16),
            ["i64"] = tensor(new long[] { long.MaxValue, -7 }),
            ["i32"] = tensor(new[] { 3, -4, 5 }),
            ["scalar"] = tensor(2f),
            ["empty"] = zeros(0, 3),
        };
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        foreach (var (name, expected) in tensors)
        {
            Tensor actual = file.Read(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
Assert.True(TensorAssert.Same(expected, actual), name);
        }

        Tensor target = zeros(3, 4, dtype: float64);
        file.CopyInto("f32", target);
        Assert.Equal(11.0, target[2, 3].item<double>());
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp"));
    }

    [Fact]
    public void Truncated_file_names_the_tensor_that_is_cut_off()
    {
        string path = Write("a", new float[] { 1, 2 }, "b", new float[] { 3, 4, 5 });
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        var error = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Equal("b", error.TensorName);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_header_json_is_reported()
    {
        string path = Raw("{\"a\": {\"dtype\": \"F32\", ", []);
        var error = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(200_000_000UL)]
    [InlineData(64UL)]
    public void Impossible_header_length_is_reported(ulong length)
    {
        string path = temp.File("huge.safetensors");
        byte[] bytes = new byte[40];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Contains($"header length {length}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_short_file_is_reported()
    {
        string path = temp.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var error = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Contains("too short", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "outside the data section")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 8, "reversed")]
    [InlineData("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 8, "unsupported dtype 'U8'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 8, "non-negative integers")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8, "data_offsets")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap")]
    public void Malformed_entries_name_file_and_tensor(string header, int dataBytes, string problem)
    {
        string path = Raw(header, new byte[dataBytes]);
        var error = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.TensorName);
    }

    [Fact]
    public void Missing_file_and_missing_tensor_are_input_errors()
    {
        Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(temp.File("nope.safetensors")));
        using var file = SafetensorsFile.Open(Write("a", new float[] { 1 }));
        var error = Assert.Throws<SafetensorsException>(() => file.Read("b"));
        Assert.Equal("b", error.TensorName);
    }

    [Fact]
    public void Symbolic_link_opens_as_the_file_it_points_to()
    {
        string target = Write("a", new float[] { 1, 2, 3 });
        string link = temp.File("link.safetensors");
        File.CreateSymbolicLink(link, target);
        using var file = SafetensorsFile.Open(link);
        using Tensor a = file.Read("a");
        Assert.Equal([1f, 2f, 3f], a.data<float>().ToArray());
    }

    [Fact]
    public void Copy_into_checks_the_shape()
    {
        using var file = SafetensorsFile.Open(Write("a", new float[] { 1, 2, 3 }));
        using Tensor wrong = zeros(2);
        var error = Assert.Throws<SafetensorsException>(() => file.CopyInto("a", wrong));
        Assert.Contains("[3]", error.Message, StringComparison.Ordinal);
        Assert.Contains("[2]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_into_a_missing_folder_fails_cleanly()
    {
        using Tensor t = ones(2);
        string path = Path.Combine(temp.Path, "missing", "x.safetensors");
        Assert.Throws<RasInputException>(() => SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["t"] = t }));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_file_truncated_on_disk_after_open_is_an_error_not_a_crash()
    {
        string path = Write("a", new float[4096]);
        using var file = SafetensorsFile.Open(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.SetLength(100);
        }

        var error = Assert.Throws<SafetensorsException>(() => file.Read("a"));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("changed on disk", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fp8_tensors_decode_and_invalid_utf8_or_too_many_dims_are_rejected()
    {
        string fp8 = Raw("""{"e4": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}, "e5": {"dtype": "F8_E5M2", "shape": [], "data_offsets": [4, 5]}}""",
            [0x38, 0x7E, 0xFF, 0x80, 0xFC]);
        using (var file = SafetensorsFile.Open(fp8))
        {
            Assert.Equal("F8_E4M3", file.Get("e4").StoredDType);
            Assert.Equal(ScalarType.BFloat16, file.Get("e4").DType);
            float[] e4 = file.Read("e4", ScalarType.Float32).data<float>().ToArray();
            Assert.Equal(1f, e4[0]);
            Assert.Equal(448f, e4[1]);
            Assert.True(float.IsNaN(e4[2]));
            Assert.True(float.IsNegative(e4[3]) && e4[3] == 0);
            Assert.Equal(float.NegativeInfinity, file.Read("e5", ScalarType.Float32).item<float>());
        }

        byte[] header = Encoding.UTF8.GetBytes("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {"k": "vX"}}""");
        header[^4] = 0xFF;
        string bad = temp.File("utf8.safetensors");
        byte[] bytes = [.. BitConverter.GetBytes((ulong)header.Length), .. header, 0, 0, 0, 0];
        File.WriteAllBytes(bad, bytes);
        Assert.Contains("not valid UTF-8", Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(bad)).Message, StringComparison.Ordinal);

        string ones = string.Join(", ", Enumerable.Repeat(1, 17));
        string dims = Raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [" + ones + "], \"data_offsets\": [0, 4]}}", new byte[4]);
        Assert.Contains("17 dimensions", Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(dims)).Message, StringComparison.Ordinal);
    }

    private string Write(params object[] namesAndValues)
    {
        string path = temp.File($"t{Guid.NewGuid():N}.safetensors");
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        for (int i = 0; i < namesAndValues.Length; i += 2)
        {
            tensors[(string)namesAndValues[i]] = tensor((float[])namesAndValues[i + 1]);
        }

        SafetensorsWriter.Write(path, tensors);
        return path;
    }

    private string Raw(string header, byte[] data)
    {
        string path = temp.File($"r{Guid.NewGuid():N}.safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}

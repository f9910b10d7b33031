using System.Text.Json;
using Ras.Errors;
using Ras.IO.Checkpoints;
using Ras.IO.Configs;
using Ras.IO.Gguf;
using Ras.IO.Images;
using Ras.IO.Safetensors;
using Ras.Models.Clip;
using Ras.Models.Flux;
using Ras.Models.Gemma;
using Ras.Models.Lumina;
using Ras.Models.SD3;
using Ras.Models.Shapes;
using Ras.Models.T5;
using Ras.Models.Vae;
using Ras.Schedulers;
using Ras.Tests.TestSupport;
using Ras.Tokenizers;
using Ras.Tokenizers.Clip;
using Ras.Tokenizers.SentencePiece;
using static TorchSharp.torch;

namespace Ras.Tests.Fuzzing;

/// <summary>Every reader of untrusted bytes, with valid seeds made in memory (no fixture is read) and what reading means.</summary>
public static class FuzzTargets
{
    public static FuzzTarget Get(string name) => name switch
    {
        "safetensors" => Safetensors(),
        "gguf" => Gguf(),
        "config" => Config(),
        "clip-tokenizer" => ClipTokenizer(),
        "sentencepiece" => SentencePiece(),
        "image" => Image(),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    public static readonly string[] Names = ["safetensors", "gguf", "config", "clip-tokenizer", "sentencepiece", "image"];

    /// <summary>Opens a checkpoint as the loaders do (scaled fp8 applied) and reads every tensor as float32.</summary>
    private static void ReadCheckpoint(string path)
    {
        using var store = TensorStore.OpenFile(path);
        foreach (string key in store.Keys.ToList())
        {
            using Tensor value = store.Read(key, ScalarType.Float32);
        }
    }

    private static FuzzTarget Safetensors()
    {
        using var scope = NewDisposeScope();
        using var temp = new TempDirectory();
        string plain = temp.File("plain.safetensors");
        SafetensorsWriter.Write(plain, new Dictionary<string, Tensor>
        {
            ["f32"] = arange(12, dtype: ScalarType.Float32).reshape(3, 4), ["f16"] = ones(5, dtype: ScalarType.Float16),
            ["bf16"] = ones(2, 2, dtype: ScalarType.BFloat16), ["i64"] = arange(3, dtype: ScalarType.Int64), ["scalar"] = tensor(2f),
            ["empty"] = zeros(0, 3), ["f64"] = ones(2, dtype: ScalarType.Float64),
        }, new Dictionary<string, string> { ["format"] = "pt" });
        string fp8 = RawSafetensors.Write(temp.File("fp8.safetensors"),
        [
            new("model.diffusion_model.scaled_fp8", "F8_E4M3", [0], []),
            new("lin.weight", "F8_E4M3", [2, 3], [0x38, 0x3C, 0xC0, 0x28, 0x7E, 0xA8]),
            new("lin.scale_weight", "F32", [], GgufWriter.F32(0.5f)),
            new("lin.scale_input", "F32", [], GgufWriter.F32(1f)),
            new("e5m2", "F8_E5M2", [8], [0x3C, 0x7C, 0xFC, 0x7D, 0x00, 0x80, 0x01, 0x7B]),
            new("bias", "BF16", [2], [0x80, 0x3F, 0x00, 0xC0]),
        ]);
        return new FuzzTarget("safetensors",
            [Seed("plain", "model.safetensors", File.ReadAllBytes(plain)), Seed("fp8-scaled", "model.safetensors", File.ReadAllBytes(fp8))],
            FormatMutations.Safetensors, ReadCheckpoint);
    }

    private static FuzzTarget Gguf()
    {
        var random = new Random(5);
        byte[] Blocks(GgufTensorType type, int blocks)
        {
            byte[] data = new byte[blocks * GgufTensorTypes.BlockBytes(type)];
            random.NextBytes(data);
            return data;
        }

        var everything = new GgufWriter()
            .String("general.architecture", "ras-fuzz").UInt32("general.quantization_version", 2).Int32("i32", -5).Float32("f32", 0.5f)
            .Bool("b", true).UInt8("u8", 1).Int8("i8", -1).UInt16("u16", 2).Int16("i16", -2).UInt64("u64", 3).Int64("i64", -3).Float64("f64", 1.5)
            .Strings("names", "alpha", "beta").Int32s("ints", 1, 2, 3)
            .Array("nested", GgufValueType.Array, 1, w =>
            {
                w.Write((uint)GgufValueType.Int32);
                w.Write(1UL);
                w.Write(7);
            });
        foreach (GgufTensorType type in new[]
        {
            GgufTensorType.F32, GgufTensorType.F16, GgufTensorType.BF16, GgufTensorType.Q8_0, GgufTensorType.Q4_0, GgufTensorType.Q4_1, GgufTensorType.Q5_0,
            GgufTensorType.Q5_1, GgufTensorType.Q2_K, GgufTensorType.Q3_K, GgufTensorType.Q4_K, GgufTensorType.Q5_K, GgufTensorType.Q6_K,
        })
        {
            int block = GgufTensorTypes.BlockElements(type);
            int rowBlocks = block == 1 ? 8 : 1;
            everything.Tensor($"blk.{type}.weight", type, [2, rowBlocks * block], Blocks(type, 2 * rowBlocks));
        }

        byte[] flux = new GgufWriter { Version = 2, Alignment = 64 }.String("general.architecture", "flux")
            .Tensor("double_blocks.0.img_attn.norm.key_norm.scale", GgufTensorType.F32, [4], GgufWriter.F32(1, 2, 3, 4))
            .Tensor("img_in.weight", GgufTensorType.Q8_0, [2, 32], Blocks(GgufTensorType.Q8_0, 2))
            .Tensor("time_in.in_layer.weight", GgufTensorType.Q4_K, [1, 1, 256], Blocks(GgufTensorType.Q4_K, 1))
            .Build();
        return new FuzzTarget("gguf", [Seed("every-type", "model.gguf", everything.Build()), Seed("flux-v2-align64", "model.gguf", flux)],
            FormatMutations.Gguf, ReadCheckpoint);
    }

    private static FuzzTarget Config()
    {
        string[] seeds =
        [
            TinyModels.Config().ToJson(),
            FluxTinyModels.Config().ToJson(),
            LuminaTinyModels.Config().ToJson(),
            JsonSerializer.Serialize(TinyPipelineFolder.VaeJson(TinyPipelines.VaeConfig, 32)),
            JsonSerializer.Serialize(TinyPipelineFolder.ClipJson(1000, 8, 2, 8, "quick_gelu")),
            JsonSerializer.Serialize(TinyPipelineFolder.T5Json(12)),
            new FlowMatchEulerDiscreteSchedulerConfig { Shift = 3.0 }.ToJson(),
            """{"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": true, "bos_token": "<|startoftext|>", "eos_token": {"content": "<|endoftext|>"}, "pad_token": "!", "added_tokens_decoder": {"0": {"content": "!", "special": true}}, "padding_side": "right"}""",
            """{"_class_name": "StableDiffusion3Pipeline", "transformer": ["diffusers", "SD3Transformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]}""",
            """{"architectures": ["GemmaModel"], "vocab_size": 1000, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "rms_norm_eps": 1e-6, "max_position_embeddings": 64}""",
        ];
        return new FuzzTarget("config", seeds.Select((s, i) => Seed($"config{i}", "config.json", Mutations.Utf8(s))).ToList(), FormatMutations.Json, ReadConfig);
    }

    /// <summary>
    /// Every config reader on the same file: each must accept it or reject it naming the file (another family's reader
    /// rejects a valid config by its <c>_class_name</c>); the input counts as rejected when every reader rejects it.
    /// </summary>
    private static void ReadConfig(string path)
    {
        Action[] readers =
        [
            () => JsonConfig.Load(path).ReadString("_class_name"),
            () => SD3TransformerConfig.Load(path),
            () => FluxTransformerConfig.Load(path),
            () => LuminaNextDiT2DModelConfig.Load(path),
            () => AutoencoderKLConfig.Load(path),
            () => CLIPTextConfig.Load(path),
            () => T5Config.Load(path),
            () => GemmaConfig.Load(path),
            () => FlowMatchEulerDiscreteSchedulerConfig.Load(path),
            () => ShapesTextEncoderConfig.Load(path),
            () => HuggingFaceTokenizerConfig.Load(path, null),
            () => HuggingFaceTokenizerConfig.Load(null, path),
        ];
        RasInputException? first = null;
        int rejected = 0;
        foreach (Action read in readers)
        {
            try
            {
                read();
            }
            catch (RasInputException e) when (e.Message.Contains(path, StringComparison.Ordinal))
            {
                first ??= e;
                rejected++;
            }
        }

        if (rejected == readers.Length)
        {
            throw first!;
        }
    }

    private static FuzzTarget ClipTokenizer()
    {
        using var temp = new TempDirectory();
        TinyPipelineFolder.ClipTokenizer(temp.Path, "!");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(temp.File("vocab.json")))!;
        foreach (string token in new[] { "th", "the</w>", "ca", "cat</w>", "ph", "pho", "to</w>", "photo</w>" })
        {
            vocab[token] = vocab.Count;
        }

        var files = new Dictionary<string, byte[]>
        {
            ["vocab.json"] = JsonSerializer.SerializeToUtf8Bytes(vocab),
            ["merges.txt"] = Mutations.Utf8("#version: 0.2\nt h\nth e</w>\nc a\nca t</w>\np h\nph o\npho to</w>\n"),
            ["tokenizer_config.json"] = File.ReadAllBytes(temp.File("tokenizer_config.json")),
        };
        FuzzSeed Of(string target) => new($"clip-{target}", files, target);
        var mutations = FormatMutations.Json.Concat(FormatMutations.Lines).ToList();
        return new FuzzTarget("clip-tokenizer", [Of("vocab.json"), Of("merges.txt"), Of("tokenizer_config.json")], mutations, path =>
        {
            var tokenizer = CLIPTokenizer.FromFolder(Path.GetDirectoryName(path)!);
            Ras.Tokenizers.TokenizedPrompt prompt = tokenizer.Encode("a photo of the cat, 123! ünïcödé");
            tokenizer.Decode(prompt.UntruncatedIds);
        });
    }

    private static FuzzTarget SentencePiece() => new("sentencepiece",
        [Seed("t5-unigram", "spiece.model", StandInSentencePiece.T5LikeUnigram()), Seed("gemma-bpe", "tokenizer.model", StandInSentencePiece.GemmaLikeBpe())],
        FormatMutations.Protobuf, path =>
        {
            var model = SentencePieceModel.Load(path);
            int[] ids = model.Encode("a photo of the cat, 123! ünïcödé  ");
            model.Decode(ids);
        });

    private static FuzzTarget Image()
    {
        byte[] rgb = new byte[16 * 8 * 3];
        for (int i = 0; i < rgb.Length; i++)
        {
            rgb[i] = (byte)(i * 7);
        }

        return new FuzzTarget("image", [Seed("png", "input.png", PngWriter.Encode(rgb, 16, 8)), Seed("jpeg", "input.jpg", TinyJpeg), Seed("bmp", "input.bmp", TinyBmp)],
            FormatMutations.Images, path => ImageReader.Read(path));
    }

    /// <summary>
    /// A 16×8 grayscale baseline JPEG written by hand: one quantization table of ones, a DC table with two codes
    /// (category 0 = "0", category 4 = "10"), an AC table with only end-of-block ("0"), and two blocks (DC +8, then +0).
    /// </summary>
    private static byte[] TinyJpeg =>
    [
        0xFF, 0xD8,
        0xFF, 0xDB, 0x00, 0x43, 0x00, .. Enumerable.Repeat((byte)1, 64),
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xC4, 0x00, 0x15, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
        0xFF, 0xC4, 0x00, 0x14, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00,
        0xA0, 0x7F,
        0xFF, 0xD9,
    ];

    /// <summary>A 4×2 24-bit BMP: file header, BITMAPINFOHEADER, two rows of 12 bytes (bottom row first).</summary>
    private static byte[] TinyBmp
    {
        get
        {
            byte[] bmp = new byte[54 + 24];
            "BM"u8.CopyTo(bmp);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), 4);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), 2);
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), 24);
            for (int i = 54; i < bmp.Length; i++)
            {
                bmp[i] = (byte)(i * 13);
            }

            return bmp;
        }
    }

    private static FuzzSeed Seed(string name, string file, byte[] bytes) => new(name, new Dictionary<string, byte[]> { [file] = bytes }, file);
}

using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using Ras.IO.Files;

namespace Ras.Tokenizers;

/// <summary>The tokenizers SD3 / SD3.5 and FLUX.1 pipelines use, shipped inside the library (see <c>Tokenizers/BuiltIn/README.md</c>).</summary>
public enum BuiltInTokenizer
{
    /// <summary>CLIP-L: SD3's <c>tokenizer/</c> and FLUX.1's <c>tokenizer/</c> (pads with <c>&lt;|endoftext|&gt;</c>).</summary>
    ClipL,

    /// <summary>OpenCLIP bigG: SD3's <c>tokenizer_2/</c> (the same vocabulary; pads with <c>!</c>).</summary>
    ClipG,

    /// <summary>T5 v1.1: SD3's <c>tokenizer_3/</c> and FLUX.1's <c>tokenizer_2/</c>.</summary>
    T5,
}

/// <summary>
/// Unpacks the embedded tokenizer files once into the user cache as ordinary diffusers tokenizer folders, so they load
/// through the same readers (and the same checks) as a downloaded folder. The cache folder is named by a hash of the
/// embedded bytes: a new library version with other files unpacks beside the old one, never over it; each folder is
/// written to a temporary name and renamed into place, so concurrent processes never see half of one.
/// </summary>
public static class BuiltInTokenizers
{
    private const string ResourcePrefix = "ras.tokenizers/";
    private static readonly Lock Gate = new();
    private static string? root;

    /// <summary>The folder of <paramref name="tokenizer"/> (e.g. for <c>CLIPTokenizer.FromFolder</c>), unpacked on first use.</summary>
    /// <exception cref="IOException">No cache folder can be written.</exception>
    public static string Folder(BuiltInTokenizer tokenizer)
    {
        string unpacked = Unpack();
        return Path.Combine(unpacked, tokenizer switch
        {
            BuiltInTokenizer.ClipL => "tokenizer",
            BuiltInTokenizer.ClipG => "tokenizer_2",
            BuiltInTokenizer.T5 => "t5",
            _ => throw new ArgumentOutOfRangeException(nameof(tokenizer), tokenizer, null),
        });
    }

    private static string Unpack()
    {
        lock (Gate)
        {
            if (root is not null && Directory.Exists(root))
            {
                return root;
            }

            Assembly assembly = typeof(BuiltInTokenizers).Assembly;
            var resources = assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            var files = resources.ToDictionary(n => n[ResourcePrefix.Length..].Replace('\\', '/'), n => Read(assembly, n));
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach ((string name, byte[] bytes) in files)
            {
                hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
                hash.AppendData(bytes);
            }

            string key = Convert.ToHexString(hash.GetHashAndReset())[..16].ToLowerInvariant();
            string target = UserCache.CreateFolder(Path.Combine("tokenizers", key)).Folder;
            if (!File.Exists(Path.Combine(target, "t5", "spiece.model")))
            {
                Write(target, files);
            }

            root = target;
            return root;
        }
    }

    /// <summary>Writes the diffusers layout beside <paramref name="target"/>, then renames each folder into it.</summary>
    private static void Write(string target, Dictionary<string, byte[]> files)
    {
        byte[] vocabulary = Gunzip(files["clip/vocab.json.gz"]);
        byte[] merges = Gunzip(files["clip/merges.txt.gz"]);
        var folders = new Dictionary<string, Dictionary<string, byte[]>>
        {
            ["tokenizer"] = ClipFolder(files, "tokenizer", vocabulary, merges),
            ["tokenizer_2"] = ClipFolder(files, "tokenizer_2", vocabulary, merges),
            ["t5"] = new()
            {
                ["spiece.model"] = Gunzip(files["t5/spiece.model.gz"]),
                ["tokenizer_config.json"] = "{\"eos_token\": \"</s>\", \"pad_token\": \"<pad>\", \"unk_token\": \"<unk>\", \"model_max_length\": 512}"u8.ToArray(),
                ["LICENSE-Apache-2.0.txt"] = files["t5/LICENSE-Apache-2.0.txt"],
            },
        };
        foreach ((string folder, Dictionary<string, byte[]> content) in folders)
        {
            string final = Path.Combine(target, folder);
            if (Directory.Exists(final))
            {
                continue;
            }

            string staging = Path.Combine(target, $".{folder}.{Environment.ProcessId}.{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            foreach ((string name, byte[] bytes) in content)
            {
                File.WriteAllBytes(Path.Combine(staging, name), bytes);
            }

            try
            {
                Directory.Move(staging, final);
            }
            catch (IOException) when (Directory.Exists(final))
            {
                Directory.Delete(staging, recursive: true);   // another process unpacked the same bytes first
            }
        }
    }

    private static Dictionary<string, byte[]> ClipFolder(Dictionary<string, byte[]> files, string name, byte[] vocabulary, byte[] merges) => new()
    {
        ["vocab.json"] = vocabulary,
        ["merges.txt"] = merges,
        ["tokenizer_config.json"] = files[$"clip/{name}/tokenizer_config.json"],
        ["special_tokens_map.json"] = files[$"clip/{name}/special_tokens_map.json"],
        ["LICENSE-openai-CLIP.txt"] = files["clip/LICENSE-openai-CLIP.txt"],
    };

    private static byte[] Read(Assembly assembly, string name)
    {
        using Stream stream = assembly.GetManifestResourceStream(name)!;
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}

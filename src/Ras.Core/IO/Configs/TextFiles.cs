using System.Text;
using System.Text.Unicode;

namespace Ras.IO.Configs;

/// <summary>
/// Reads the small text files of a model folder (configs, tokenizer files) as UTF-8 bytes, refusing a file larger than its
/// cap before reading it and text that is not UTF-8 (System.Text.Json parses such strings lazily and would fail later, deep
/// inside a reader, with an exception that names no file).
/// </summary>
internal static class TextFiles
{
    /// <summary>Largest JSON config or tokenizer config read (real ones are a few kilobytes; a CLIP vocab.json ~1 MB).</summary>
    public const long MaxJsonBytes = 64L << 20;

    /// <summary>The bytes of <paramref name="path"/>; <paramref name="error"/> makes the reader's exception from a problem.</summary>
    public static byte[] ReadUtf8(string path, long maxBytes, Func<string, Exception> error)
    {
        ArgumentNullException.ThrowIfNull(error);
        long length = new FileInfo(path).Length;
        if (length > maxBytes)
        {
            throw error($"is {length} bytes, more than the {maxBytes} a file of this kind may have");
        }

        byte[] bytes = File.ReadAllBytes(path);
        return Problem(bytes) is string problem ? throw error(problem) : bytes;
    }

    /// <summary>Null when <paramref name="bytes"/> are UTF-8; else where they stop being.</summary>
    public static string? Problem(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes))
        {
            return null;
        }

        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(bytes);
            return "is not valid UTF-8";
        }
        catch (DecoderFallbackException e)
        {
            return $"is not valid UTF-8 (at byte {e.Index})";
        }
    }
}

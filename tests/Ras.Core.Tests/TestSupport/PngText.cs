using System.Buffers.Binary;
using System.Text;

namespace Ras.Tests.TestSupport;

/// <summary>Reads a PNG's text chunks back (an independent reader of the PNG spec's tEXt and iTXt layouts, for tests).</summary>
public static class PngText
{
    /// <summary>Each text chunk as (chunk type, keyword, text), in file order.</summary>
    public static List<(string Type, string Key, string Text)> Read(byte[] png)
    {
        var chunks = new List<(string, string, string)>();
        for (int at = 8; at + 12 <= png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            byte[] data = png.AsSpan(at + 8, length).ToArray();
            int nul = Array.IndexOf(data, (byte)0);
            if (type == "tEXt")
            {
                chunks.Add((type, Encoding.Latin1.GetString(data, 0, nul), Encoding.Latin1.GetString(data, nul + 1, data.Length - nul - 1)));
            }
            else if (type == "iTXt")
            {
                if (data[nul + 1] != 0)
                {
                    throw new InvalidDataException("compressed iTXt is not expected here");
                }

                int language = Array.IndexOf(data, (byte)0, nul + 3);
                int translated = Array.IndexOf(data, (byte)0, language + 1);
                chunks.Add((type, Encoding.Latin1.GetString(data, 0, nul), Encoding.UTF8.GetString(data, translated + 1, data.Length - translated - 1)));
            }

            at += 12 + length;
        }

        return chunks;
    }

    /// <summary>The text of keyword <paramref name="key"/> in the PNG file at <paramref name="path"/>.</summary>
    public static string Get(string path, string key) => Read(File.ReadAllBytes(path)).Single(c => c.Key == key).Text;
}

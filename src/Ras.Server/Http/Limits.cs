using Ras.IO.Images;
using Ras.Pipelines;

namespace Ras.Server.Http;

/// <summary>The server's limits applied to request values, each violation a 400 naming the field.</summary>
internal static class LimitChecks
{
    public static int Size(ServerLimits limits, string field, int value, PipelineDefaults? model)
    {
        int step = model?.SizeMultiple ?? 1;
        int max = Math.Min(limits.MaxSize, model?.MaxSize ?? limits.MaxSize);
        if (value < limits.MinSize || value > max || value % step != 0)
        {
            string multiple = step > 1 ? $"a multiple of {step} " : string.Empty;
            throw ApiException.BadRequest(field, $"must be {multiple}within {limits.MinSize}–{max}, found {value}");
        }

        return value;
    }

    public static int Range(string field, int value, int min, int max) =>
        value < min || value > max ? throw ApiException.BadRequest(field, $"must be within {min}–{max}, found {value}") : value;

    public static string Prompt(ServerLimits limits, string field, string value) =>
        value.Length > limits.MaxPromptLength ? throw ApiException.BadRequest(field, $"must be at most {limits.MaxPromptLength} characters, found {value.Length}") : value;

    public static double Strength(string field, double value) =>
        !(value > 0 && value <= 1) ? throw ApiException.BadRequest(field, $"must be in (0, 1], found {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}") : value;

    public static double Guidance(string field, double value) =>
        value is < 0 or > 100 ? throw ApiException.BadRequest(field, $"must be within 0–100, found {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}") : value;

    /// <summary>
    /// Decodes an init image: bare base64 or a <c>data:</c> URI; URLs are refused (the server fetches nothing). The header's size is
    /// checked against the limit before the pixels are decoded.
    /// </summary>
    public static RgbImage Image(ServerLimits limits, string field, string encoded)
    {
        string text = encoded.Trim();
        if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiException.BadRequest(field, "URLs are not accepted (the server fetches nothing); send the image as base64 or a data: URI");
        }

        byte[] bytes = Base64(field, text);
        return Image(limits, field, bytes);
    }

    public static RgbImage Image(ServerLimits limits, string field, byte[] bytes)
    {
        if (ImageReader.Size(bytes) is not (int width, int height))
        {
            throw ApiException.BadRequest(field, "is not a PNG, JPEG, BMP, GIF, TGA or PSD image");
        }

        if ((long)width * height > limits.MaxInitImagePixels)
        {
            throw ApiException.BadRequest(field, $"must be at most {limits.MaxInitImagePixels} pixels decoded, found {width}×{height}");
        }

        try
        {
            return ImageReader.Decode(bytes, field);
        }
        catch (Errors.RasInputException e)
        {
            throw ApiException.BadRequest(field, e.Message[(field.Length + 2)..]);
        }
    }

    /// <summary>Bare base64, or a <c>data:[type];base64,</c> URI.</summary>
    public static byte[] Base64(string field, string text)
    {
        string payload = text;
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = text.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !text[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw ApiException.BadRequest(field, "a data: URI must be base64 (data:image/png;base64,…)");
            }

            payload = text[(comma + 1)..];
        }

        try
        {
            return Convert.FromBase64String(payload);
        }
        catch (FormatException)
        {
            throw ApiException.BadRequest(field, "is not valid base64 or a data: URI");
        }
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace Ras.IO.Images;

/// <summary>Conversions between image tensors in [-1, 1] and 8-bit RGB bytes.</summary>
public static class ImageTensors
{
    /// <summary><c>[3, H, W]</c> in [-1, 1] → <c>[H, W, 3]</c> bytes (rounded, clamped).</summary>
    public static byte[] ToRgbBytes(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var scope = NewDisposeScope();
        Tensor scaled = image.detach().to_type(ScalarType.Float32).cpu().add(1f).mul(127.5f).round().clamp(0, 255);
        Tensor hwc = scaled.permute(1, 2, 0).contiguous().to_type(ScalarType.Byte);
        return hwc.data<byte>().ToArray();
    }

    /// <summary>
    /// <c>[H, W, 3]</c> bytes → <c>[1, 3, height, width]</c> float32 in [-1, 1] (diffusers' <c>VaeImageProcessor</c>:
    /// <c>x/255·2 − 1</c>), resized with antialiased bicubic interpolation when the size differs (diffusers uses PIL
    /// Lanczos, so resized inputs differ slightly; inputs already at the size are exact).
    /// </summary>
    public static Tensor FromRgb(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var scope = NewDisposeScope();
        Tensor x = tensor(image.Rgb, [image.Height, image.Width, 3]).to_type(ScalarType.Float32)
            .permute(2, 0, 1).unsqueeze(0).div(127.5f).sub(1f);
        if (image.Width != width || image.Height != height)
        {
            x = nn.functional.interpolate(x, size: [height, width], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true).clamp(-1f, 1f);
        }

        return x.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Nearest-neighbour upscaling of <c>[H, W, 3]</c> bytes by an integer factor (for small images in docs).</summary>
    public static byte[] Upscale(byte[] rgb, int width, int height, int factor)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        var result = new byte[rgb.Length * factor * factor];
        int outWidth = width * factor;
        for (int y = 0; y < height * factor; y++)
        {
            for (int x = 0; x < outWidth; x++)
            {
                int source = (((y / factor) * width) + (x / factor)) * 3;
                int target = ((y * outWidth) + x) * 3;
                result[target] = rgb[source];
                result[target + 1] = rgb[source + 1];
                result[target + 2] = rgb[source + 2];
            }
        }

        return result;
    }
}

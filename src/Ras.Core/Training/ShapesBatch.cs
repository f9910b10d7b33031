using Ras.Data.Shapes;
using Ras.Models.Shapes;
using static TorchSharp.torch;

namespace Ras.Training;

/// <summary>Renders scenes and tokenizes their captions into training tensors.</summary>
internal static class ShapesBatch
{
    /// <summary>Images <c>[B, 3, S, S]</c> in [-1, 1] and caption ids <c>[B, L]</c>.</summary>
    public static (Tensor Images, Tensor Ids) Build(IReadOnlyList<ShapeScene> scenes, IReadOnlyList<bool> dropCaption, WordTokenizer tokenizer, int size)
    {
        int count = scenes.Count;
        var pixels = new float[count * size * size * 3];
        var ids = new long[count * tokenizer.MaxLength];
        for (int i = 0; i < count; i++)
        {
            ShapeRenderer.Render(scenes[i], size).CopyTo(pixels, i * size * size * 3);
            tokenizer.Encode(dropCaption[i] ? string.Empty : scenes[i].Caption).Ids.CopyTo(ids, i * tokenizer.MaxLength);
        }

        using Tensor hwc = tensor(pixels, [count, size, size, 3]);
        using Tensor chw = hwc.permute(0, 3, 1, 2);
        return (chw.mul(2f).sub(1f).contiguous(), tensor(ids, [count, tokenizer.MaxLength]));
    }
}

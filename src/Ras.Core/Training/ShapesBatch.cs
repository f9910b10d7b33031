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
        var ids = new long[scenes.Count * tokenizer.MaxLength];
        for (int i = 0; i < scenes.Count; i++)
        {
            tokenizer.Encode(dropCaption[i] ? string.Empty : scenes[i].Caption).Ids.CopyTo(ids, i * tokenizer.MaxLength);
        }

        return (Images(scenes, size), tensor(ids, [scenes.Count, tokenizer.MaxLength]));
    }

    /// <summary>The scenes rendered at <paramref name="size"/>, as <c>[B, 3, S, S]</c> in [-1, 1] (the model's pixel range).</summary>
    public static Tensor Images(IReadOnlyList<ShapeScene> scenes, int size)
    {
        var pixels = new float[scenes.Count * size * size * 3];
        for (int i = 0; i < scenes.Count; i++)
        {
            ShapeRenderer.Render(scenes[i], size).CopyTo(pixels, i * size * size * 3);
        }

        using Tensor hwc = tensor(pixels, [scenes.Count, size, size, 3]);
        using Tensor chw = hwc.permute(0, 3, 1, 2);
        return chw.mul(2f).sub(1f).contiguous();
    }
}

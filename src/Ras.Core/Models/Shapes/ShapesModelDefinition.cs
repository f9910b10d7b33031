using Ras.Models.SD3;

namespace Ras.Models.Shapes;

/// <summary>
/// The architecture of the shipped default model ("ras-shapes"): an SD3-architecture MMDiT in pixel space
/// (RGB 64×64, patch 4 → 256 image tokens) conditioned by <see cref="ShapesTextEncoder"/> on captions of the
/// procedural shapes dataset.
/// </summary>
public static class ShapesModelDefinition
{
    /// <summary>Image edge in pixels.</summary>
    public const int ImageSize = 64;

    /// <summary>Words per prompt (the longest caption of the template has 32).</summary>
    public const int PromptLength = 32;

    /// <summary>
    /// The transformer: 5 joint blocks, 6 heads × 32 = 192 wide, pixel space. <c>sample_size</c> is the input's edge,
    /// as diffusers defines it (latent pixels; here the image itself is the input), so the sin-cos position table's
    /// <c>base_size</c> is 64 / 4 = 16 and token positions step by 1, as in DiT.
    /// </summary>
    public static SD3TransformerConfig Transformer { get; } = new()
    {
        SampleSize = ImageSize,
        PatchSize = 4,
        InChannels = 3,
        OutChannels = 3,
        NumLayers = 5,
        AttentionHeadDim = 32,
        NumAttentionHeads = 6,
        JointAttentionDim = 128,
        CaptionProjectionDim = 192,
        PooledProjectionDim = 128,
        PosEmbedMaxSize = ImageSize / 4,
    };

    /// <summary>The text encoder: 2 layers, 128 wide.</summary>
    public static ShapesTextEncoderConfig TextEncoder { get; } = new()
    {
        VocabSize = WordTokenizer.SpecialTokens.Count + Data.Shapes.ShapeVocabulary.Words.Count,
        MaxPositionEmbeddings = PromptLength,
        HiddenSize = 128,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        IntermediateSize = 512,
        ProjectionDim = 128,
    };

    /// <summary>The tokenizer vocabulary: special tokens, then the dataset's words.</summary>
    public static IReadOnlyList<string> Vocabulary { get; } = [.. WordTokenizer.SpecialTokens, .. Data.Shapes.ShapeVocabulary.Words];
}

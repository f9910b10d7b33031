namespace Ras.Tokenizers;

/// <summary>Which end of a sequence padding is added to, or truncation cuts from (transformers' <c>padding_side</c> / <c>truncation_side</c>).</summary>
public enum SequenceSide
{
    /// <summary>The end of the sequence (transformers' default).</summary>
    Right,

    /// <summary>The start of the sequence.</summary>
    Left,
}

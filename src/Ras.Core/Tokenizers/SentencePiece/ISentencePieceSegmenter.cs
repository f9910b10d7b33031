namespace Ras.Tokenizers.SentencePiece;

/// <summary>A SentencePiece model type's segmentation (<c>ModelInterface::Encode</c>) plus the processor's post-processing.</summary>
internal interface ISentencePieceSegmenter
{
    /// <summary>The pieces of normalized text (UTF-8), in order.</summary>
    List<SentencePieceToken> Encode(byte[] normalized);
}

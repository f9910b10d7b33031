namespace Ras.Tokenizers.SentencePiece;

/// <summary>The segmentation algorithms we implement (<c>TrainerSpec.ModelType</c>).</summary>
public enum SentencePieceModelType
{
    /// <summary>UNIGRAM: the best-scoring segmentation (Viterbi), e.g. T5.</summary>
    Unigram = 1,

    /// <summary>BPE: greedy merges by piece score, e.g. Gemma and Llama.</summary>
    Bpe = 2,
}

/// <summary>Kinds of vocabulary entries (<c>ModelProto.SentencePiece.Type</c>).</summary>
public enum SentencePieceType
{
    /// <summary>An ordinary piece.</summary>
    Normal = 1,

    /// <summary>The unknown piece (<c>&lt;unk&gt;</c>).</summary>
    Unknown = 2,

    /// <summary>A control symbol (<c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c>): never produced from text.</summary>
    Control = 3,

    /// <summary>A user-defined symbol: always kept whole, never normalized.</summary>
    UserDefined = 4,

    /// <summary>An unused piece: in the vocabulary but never produced.</summary>
    Unused = 5,

    /// <summary>A byte piece <c>&lt;0xXX&gt;</c> for byte fallback.</summary>
    Byte = 6,
}

/// <summary>One vocabulary entry of a SentencePiece model; its id is its index.</summary>
/// <param name="Piece">The piece text (<c>▁</c> marks a word start).</param>
/// <param name="Score">Its log-probability (unigram) or merge priority (BPE).</param>
/// <param name="Type">Its kind.</param>
public sealed record SentencePieceEntry(string Piece, float Score, SentencePieceType Type);

/// <summary>One piece of an encoded text.</summary>
/// <param name="Id">The vocabulary id.</param>
/// <param name="Piece">The piece text; for an unknown run, the normalized text it covers (as sentencepiece reports it).</param>
public readonly record struct SentencePieceToken(int Id, string Piece);

namespace Ras.IO.Checkpoints;

/// <summary>How a large model's weights are held in memory (compute is float32 either way).</summary>
public enum WeightStorage
{
    /// <summary>
    /// <see cref="Stored"/> when the checkpoint is half precision and a float32 copy would take more than half the
    /// machine's memory (T5-XXL, SD3.5-large on 24 GB); otherwise <see cref="FullPrecision"/>.
    /// </summary>
    Auto,

    /// <summary>Everything converted to float32 at load: fastest, twice the memory of a half checkpoint.</summary>
    FullPrecision,

    /// <summary>
    /// Large blocks stay in the checkpoint's half precision and are upcast to float32 one block at a time, just for
    /// that block's forward; embeddings, norms and projections are float32.
    /// </summary>
    Stored,
}

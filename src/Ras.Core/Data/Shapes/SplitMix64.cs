namespace Ras.Data.Shapes;

/// <summary>
/// A tiny, fully specified PRNG (SplitMix64), so a scene drawn from a seed is the same on every .NET version
/// and machine (System.Random's seeded sequence is not a documented contract).
/// </summary>
public sealed class SplitMix64
{
    private ulong state;

    /// <summary>Seeds the generator.</summary>
    public SplitMix64(ulong seed)
    {
        state = seed;
    }

    /// <summary>Generator for item <paramref name="index"/> of stream <paramref name="stream"/> under <paramref name="seed"/>.</summary>
    public static SplitMix64 For(ulong seed, ulong stream, ulong index)
    {
        var mixer = new SplitMix64(seed ^ (stream * 0x9E3779B97F4A7C15UL));
        ulong streamSeed = mixer.NextUInt64();
        return new SplitMix64(streamSeed + (index * 0xD1B54A32D192ED03UL));
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform integer in [0, <paramref name="count"/>).</summary>
    public int Next(int count) => (int)(NextUInt64() % (ulong)count);

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

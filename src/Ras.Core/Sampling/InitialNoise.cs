using TorchSharp;
using static TorchSharp.torch;

namespace Ras.Sampling;

/// <summary>Seeded initial latents, reproducing diffusers' <c>randn_tensor</c> with a CPU generator.</summary>
public static class InitialNoise
{
    /// <summary>
    /// One float32 <c>randn(shape)</c> draw from a CPU generator seeded with <paramref name="seed"/>
    /// (the whole batch in one draw, as diffusers does), then moved to <paramref name="device"/>.
    /// </summary>
    public static Tensor Draw(long[] shape, long seed, Device? device = null)
    {
        using var generator = new Generator((ulong)seed, CPU);
        Tensor noise = randn(shape, ScalarType.Float32, CPU, generator: generator);
        if (device is null || device.type == DeviceType.CPU)
        {
            return noise;
        }

        using (noise)
        {
            return noise.to(device);
        }
    }

    /// <summary>A fresh random seed (for runs where the user gave none; print it so the run can be repeated).</summary>
    public static long NewSeed() => Random.Shared.NextInt64(0, 1L << 53);
}

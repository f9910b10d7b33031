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

    /// <summary>
    /// One draw per image: image <c>i</c> of <paramref name="shape"/>'s batch is the <c>randn([1, …])</c> draw of seed
    /// <c><paramref name="seed"/> + i</c> (A1111's per-image seeds), so each image can be made again alone with its own seed.
    /// </summary>
    public static Tensor DrawPerImage(long[] shape, long seed, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape[0] == 1)
        {
            return Draw(shape, seed, device);
        }

        long[] one = [1, .. shape[1..]];
        using var scope = NewDisposeScope();
        Tensor batch = cat(Enumerable.Range(0, (int)shape[0]).Select(i => Draw(one, seed + i)).ToArray(), 0);
        batch = device is null || device.type == DeviceType.CPU ? batch : batch.to(device);
        return batch.MoveToOuterDisposeScope();
    }

    /// <summary>A fresh random seed (for runs where the user gave none; print it so the run can be repeated).</summary>
    public static long NewSeed() => Random.Shared.NextInt64(0, 1L << 53);
}

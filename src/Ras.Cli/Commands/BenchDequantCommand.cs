using System.Buffers.Binary;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Ras.Errors;
using Ras.IO.Gguf;
using Ras.IO.Numerics;

namespace Ras.Cli.Commands;

/// <summary><c>ras bench-dequant</c>: single-thread throughput of every dequantizer and float decoder on random blocks.</summary>
internal sealed unsafe class BenchDequantCommand : ICliCommand
{
    private readonly Option<int> millions = new("--values") { Description = "Million values decoded per type and round. Default: 16.", DefaultValueFactory = _ => 16 };
    private readonly Option<int> repeat = new("--repeat") { Description = "Timed rounds per type; the best and the median are reported. Default: 5.", DefaultValueFactory = _ => 5 };
    private readonly Option<string?> types = new("--types") { Description = "Comma list of types to measure (e.g. Q8_0,Q4_K,F8_E4M3). Default: all." };

    public Command Build() => new("bench-dequant", "Measure GGUF dequantization and fp8/f16/bf16 decoding speed (one thread, random data in memory): MB/s read and written per type.")
    {
        millions, repeat, types,
    };

    public Task<int> RunAsync(ParseResult result, CliContext context)
    {
        long values = result.GetValue(millions) * 1_000_000L / 256 * 256;
        int rounds = result.GetValue(repeat);
        if (values <= 0 || rounds <= 0)
        {
            throw new OptionsException("values", "--values and --repeat must be positive");
        }

        var only = result.GetValue(types)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        bool Wanted(string name) => only is null || only.Contains(name);
        TextWriter o = context.Out;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{values / 1e6:0.0} M values per type, {rounds} rounds, 1 thread; Vector256 accelerated: {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}"));
        o.WriteLine("best round (the least disturbed by other processes) and the median; MB/s of quantized input read and of float32 written");
        o.WriteLine($"{"type",-9}{"in MB/s",10}{"out MB/s",11}{"M values/s",12}{"median",9}");
        float* output = (float*)NativeMemory.AlignedAlloc((nuint)(values * 4), 64);
        try
        {
            foreach (GgufTensorType type in new[]
            {
                GgufTensorType.F16, GgufTensorType.BF16, GgufTensorType.Q8_0, GgufTensorType.Q4_0, GgufTensorType.Q4_1, GgufTensorType.Q5_0,
                GgufTensorType.Q5_1, GgufTensorType.Q2_K, GgufTensorType.Q3_K, GgufTensorType.Q4_K, GgufTensorType.Q5_K, GgufTensorType.Q6_K,
            })
            {
                if (!Wanted(type.ToString()))
                {
                    continue;
                }

                context.Cancellation.ThrowIfCancellationRequested();
                long bytes = values / GgufTensorTypes.BlockElements(type) * GgufTensorTypes.BlockBytes(type);
                byte[] input = RandomBlocks(type, bytes);
                fixed (byte* source = input)
                {
                    byte* s = source;
                    Report(o, type.ToString(), bytes, values, Median(rounds, () => GgufDequantizer.Dequantize(type, s, output, values)));
                }
            }

            byte[] fp8 = new byte[values];
            new Random(1).NextBytes(fp8);
            fixed (byte* source = fp8)
            {
                byte* s = source;
                if (Wanted("F8_E4M3"))
                {
                    Report(o, "F8_E4M3", values, values, Median(rounds, () => FloatDecoding.E4M3ToSingle(s, output, values)));
                }

                if (Wanted("F8_E5M2"))
                {
                    Report(o, "F8_E5M2", values, values, Median(rounds, () => FloatDecoding.E5M2ToSingle(s, output, values)));
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(output);
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    private static void Report(TextWriter o, string name, long bytesIn, long values, (double Best, double Median) seconds) =>
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-9}{bytesIn / 1e6 / seconds.Best,10:0}{values * 4 / 1e6 / seconds.Best,11:0}{values / 1e6 / seconds.Best,12:0}{values / 1e6 / seconds.Median,9:0}"));

    /// <summary>The fastest and the median of <paramref name="rounds"/> timed runs, after one untimed warm-up.</summary>
    private static (double Best, double Median) Median(int rounds, Action run)
    {
        run();   // warm-up: tiered JIT, page faults of the output
        var times = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times.Add(clock.Elapsed.TotalSeconds);
        }

        times.Sort();
        return (times[0], times[times.Count / 2]);
    }

    /// <summary>Random bytes with every f16 scale finite (a random exponent), so the timing is of ordinary blocks.</summary>
    private static byte[] RandomBlocks(GgufTensorType type, long bytes)
    {
        var random = new Random((int)type);
        byte[] data = new byte[bytes];
        random.NextBytes(data);
        int size = GgufTensorTypes.BlockBytes(type);
        int[] halves = type switch
        {
            GgufTensorType.Q8_0 or GgufTensorType.Q4_0 or GgufTensorType.Q5_0 => [0],
            GgufTensorType.Q4_1 or GgufTensorType.Q5_1 or GgufTensorType.Q4_K or GgufTensorType.Q5_K => [0, 2],
            GgufTensorType.Q2_K => [80, 82],
            GgufTensorType.Q3_K => [108],
            GgufTensorType.Q6_K => [208],
            _ => [],
        };
        for (long at = 0; halves.Length > 0 && at < bytes; at += size)
        {
            foreach (int offset in halves)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan((int)(at + offset)), (ushort)((random.Next(5, 19) << 10) | random.Next(1024)));
            }
        }

        if (type is GgufTensorType.F16)
        {
            for (long at = 0; at < bytes; at += 2)
            {
                data[at + 1] &= 0x7B;   // finite halves
            }
        }

        return data;
    }
}

using System.Diagnostics;
using Ras.Errors;

namespace Ras.Tests.Fuzzing;

/// <summary>One file set a reader is fuzzed from: file name → bytes, and which file the mutations change.</summary>
/// <param name="Name">For reports.</param>
/// <param name="Files">Every file the reader needs (e.g. a tokenizer folder), by file name.</param>
/// <param name="Target">The file mutated (a key of <paramref name="Files"/>).</param>
public sealed record FuzzSeed(string Name, IReadOnlyDictionary<string, byte[]> Files, string Target);

/// <summary>
/// A reader of untrusted bytes under fuzzing: its valid seeds, the mutations that know its format (on top of the
/// generic ones), and what reading means (open, then use everything it opened).
/// </summary>
/// <param name="Name">The reader's name (the test case).</param>
/// <param name="Seeds">Valid inputs; each must be accepted as it is.</param>
/// <param name="Structured">Format-aware mutations of a target file's bytes.</param>
/// <param name="Read">Reads the folder's files; its argument is the mutated file's full path.</param>
public sealed record FuzzTarget(string Name, IReadOnlyList<FuzzSeed> Seeds, IReadOnlyList<Func<byte[], Random, byte[]>> Structured, Action<string> Read);

/// <summary>A failure: a crash (an exception that is not a <see cref="RasInputException"/>), a rejection that does not name the file, or a hang.</summary>
/// <param name="Input">Index of the input in the run (with the run's seed it reproduces the bytes).</param>
/// <param name="Seed">The seed it was mutated from.</param>
/// <param name="Problem">What went wrong.</param>
/// <param name="Bytes">The input itself, to reproduce it.</param>
public sealed record FuzzFailure(int Input, string Seed, string Problem, byte[] Bytes);

/// <summary>What a run found.</summary>
public sealed record FuzzReport(string Target, int Inputs, int Accepted, int Rejected, IReadOnlyList<FuzzFailure> Failures, TimeSpan Elapsed, TimeSpan Slowest)
{
    public override string ToString() =>
        $"{Target}: {Inputs} inputs, {Accepted} accepted, {Rejected} rejected (RasInputException naming the file), {Failures.Count} failures, " +
        $"{Elapsed.TotalSeconds:0.0} s, slowest input {Slowest.TotalMilliseconds:0} ms";
}

/// <summary>
/// Seeded in-process mutation fuzzing. Each input is a seed's target file mutated 1–3 times (generic and format-aware
/// mutations), written with the seed's other files into a scratch folder and read on a worker thread with a time cap.
/// Pass: the reader accepts it, or rejects it with a <see cref="RasInputException"/> whose message names the file. Anything
/// else (another exception type, a message without the path, a run over the cap) is a failure; a hang stops the run.
/// </summary>
public static class FuzzHarness
{
    public static FuzzReport Run(FuzzTarget target, int count, int seed, TimeSpan cap, string scratch)
    {
        ArgumentNullException.ThrowIfNull(target);
        var random = new Random(seed);
        var failures = new List<FuzzFailure>();
        int accepted = 0;
        int rejected = 0;
        TimeSpan slowest = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            FuzzSeed from = target.Seeds[random.Next(target.Seeds.Count)];
            byte[] bytes = Mutations.Mutate(from.Files[from.Target], random, target.Structured);
            string folder = Path.Combine(scratch, $"{target.Name}-{i % 4}");
            Directory.CreateDirectory(folder);
            foreach (var (name, content) in from.Files)
            {
                File.WriteAllBytes(Path.Combine(folder, name), name == from.Target ? bytes : content);
            }

            string path = Path.Combine(folder, from.Target);
            var (outcome, elapsed) = ReadCapped(target.Read, path, cap);
            slowest = elapsed > slowest ? elapsed : slowest;
            switch (outcome)
            {
                case null:
                    accepted++;
                    break;
                case RasInputException e when e.Message.Contains(path, StringComparison.Ordinal):
                    rejected++;
                    break;
                case RasInputException e:
                    failures.Add(new(i, from.Name, $"{e.GetType().Name} does not name {path}: {e.Message}", bytes));
                    break;
                case TimeoutException:
                    failures.Add(new(i, from.Name, $"no answer within {cap.TotalSeconds:0.#} s (hang)", bytes));
                    return new FuzzReport(target.Name, i + 1, accepted, rejected, failures, clock.Elapsed, slowest);
                default:
                    failures.Add(new(i, from.Name, $"crash: {outcome.GetType().FullName}: {outcome.Message}\n{outcome.StackTrace}", bytes));
                    break;
            }
        }

        return new FuzzReport(target.Name, count, accepted, rejected, failures, clock.Elapsed, slowest);
    }

    /// <summary>Checks a target's seeds: each must be accepted unchanged (else the fuzzing starts from broken inputs).</summary>
    public static void CheckSeeds(FuzzTarget target, string scratch)
    {
        ArgumentNullException.ThrowIfNull(target);
        foreach (FuzzSeed seed in target.Seeds)
        {
            string folder = Path.Combine(scratch, $"{target.Name}-seed");
            Directory.CreateDirectory(folder);
            foreach (var (name, content) in seed.Files)
            {
                File.WriteAllBytes(Path.Combine(folder, name), content);
            }

            target.Read(Path.Combine(folder, seed.Target));
        }
    }

    private static (Exception? Outcome, TimeSpan Elapsed) ReadCapped(Action<string> read, string path, TimeSpan cap)
    {
        Exception? outcome = null;
        var clock = Stopwatch.StartNew();
        var worker = new Thread(() =>
        {
            try
            {
                read(path);
            }
#pragma warning disable CA1031 // The harness records every exception: that is what it looks for.
            catch (Exception e)
#pragma warning restore CA1031
            {
                outcome = e;
            }
        }) { IsBackground = true };   // the default stack: deep recursion must fail here as it would for a user
        worker.Start();
        if (!worker.Join(cap))
        {
            return (new TimeoutException(), clock.Elapsed);
        }

        return (outcome, clock.Elapsed);
    }
}

using System.Globalization;
using Ras.Tests.TestSupport;
using Xunit.Abstractions;

namespace Ras.Tests.Fuzzing;

/// <summary>
/// The fuzz smoke run of every reader of untrusted bytes: 1,000 seeded mutations each (a fixed seed, so a failure
/// reproduces), each read with a time cap. <c>RAS_FUZZ_COUNT</c> and <c>RAS_FUZZ_SEED</c> change the count and seed
/// (<c>bench/fuzz.sh</c> runs 10,000 per reader); <c>RAS_FUZZ_REPORT</c> names a file the summary lines are appended to.
/// </summary>
[Trait("Category", "Fuzz")]
[Collection(SerialCollection.Name)]
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory temp = new();

    public static TheoryData<string> Readers => new(FuzzTargets.Names);

    public void Dispose() => temp.Dispose();

    [Theory]
    [MemberData(nameof(Readers))]
    public void Mutated_inputs_are_accepted_or_rejected_naming_the_file(string reader)
    {
        int count = Setting("RAS_FUZZ_COUNT", 1000);
        int seed = Setting("RAS_FUZZ_SEED", 20_26);
        var cap = TimeSpan.FromMilliseconds(Setting("RAS_FUZZ_CAP_MS", 10_000));
        FuzzTarget target = FuzzTargets.Get(reader);
        FuzzHarness.CheckSeeds(target, temp.Path);

        FuzzReport report = FuzzHarness.Run(target, count, seed + 1_000_003 * Array.IndexOf(FuzzTargets.Names, reader), cap, temp.Path);   // string hashes differ per process
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("RAS_FUZZ_REPORT") is { Length: > 0 } file)
        {
            File.AppendAllText(file, report + Environment.NewLine);
        }

        if (report.Failures.Count > 0)
        {
            string saved = Path.Combine(Path.GetTempPath(), $"ras-fuzz-{reader}-{Environment.ProcessId}");
            Directory.CreateDirectory(saved);
            foreach (FuzzFailure failure in report.Failures.Take(20))
            {
                File.WriteAllBytes(Path.Combine(saved, $"input{failure.Input}.bin"), failure.Bytes);
            }

            Assert.Fail($"{report}\ninputs saved in {saved}\n" + string.Join("\n", report.Failures.Take(10).Select(f => $"#{f.Input} (from {f.Seed}): {f.Problem}")));
        }
    }

    /// <summary>
    /// Replays one saved input (<c>RAS_FUZZ_REPLAY=reader:path</c>, e.g. <c>config:/tmp/ras-fuzz-config-1/input7.bin</c>) through
    /// its reader and prints the outcome with the full stack trace; does nothing when the variable is unset.
    /// </summary>
    [Fact]
    public void Replay_a_saved_input()
    {
        if (Environment.GetEnvironmentVariable("RAS_FUZZ_REPLAY") is not { Length: > 0 } replay)
        {
            return;
        }

        string reader = replay[..replay.IndexOf(':', StringComparison.Ordinal)];
        FuzzTarget target = FuzzTargets.Get(reader);
        FuzzSeed seed = target.Seeds[0];
        foreach (var (name, content) in seed.Files)
        {
            File.WriteAllBytes(temp.File(name), content);
        }

        string path = temp.File(seed.Target);
        File.Copy(replay[(reader.Length + 1)..], path, overwrite: true);
        try
        {
            target.Read(path);
            output.WriteLine("accepted");
        }
        catch (Ras.Errors.RasInputException e) when (e.Message.Contains(path, StringComparison.Ordinal))
        {
            output.WriteLine($"rejected: {e.Message}");
        }
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : fallback;
}

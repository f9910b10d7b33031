using System.Text.Json;
using Ras.IO.Files;
using Ras.Tests.TestSupport;

namespace Ras.Cli.Tests.Commands;

/// <summary><c>ras eval --sweep</c> on a two-step-trained model: rows, resume, plot, frontier candidates, and its state in the cache.</summary>
public sealed class EvalSweepCommandTests(ShapesModelFixture fixture) : IClassFixture<ShapesModelFixture>, IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void A_sweep_runs_every_configuration_once_and_resumes_from_the_cache()
    {
        string grid = temp.File("grid.json");
        File.WriteAllText(grid, """
            { "stream": "validation", "prompts": 2, "batch_size": 2, "reference_steps": 4, "seed": 7,
              "dense_steps": [2, 3, 4],
              "ras": [ { "steps": 4, "sample_ratio": [0.5, 0.25], "scheduler_start_step": 2, "error_reset_steps": "", "selection": "revisit" } ] }
            """);
        string[] args = ["eval", "--model", fixture.Model, "--sweep", grid, "--json", temp.File("rows.json"), "--plot", temp.File("plot.svg"), "--candidates", temp.File("candidates.json")];
        var first = CliRunner.Run(args);
        Assert.True(first.ExitCode == 0, first.Error);
        string state = first.Out.Split('\n').Single(l => l.StartsWith("state:", StringComparison.Ordinal))["state:".Length..].Split(" (")[0].Trim();
        try
        {
            Assert.Contains(UserCache.Roots, root => state.StartsWith(root, StringComparison.Ordinal));        // never beside the outputs
            Assert.Contains("5 configurations on 2 validation prompts", first.Out, StringComparison.Ordinal);
            Assert.DoesNotContain("(cached)", first.Error, StringComparison.Ordinal);

            using (var document = JsonDocument.Parse(File.ReadAllBytes(temp.File("rows.json"))))
            {
                var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToList();
                Assert.Equal(["dense 4 steps", "dense 2 steps", "dense 3 steps"], rows.Take(3).Select(r => r.GetProperty("name").GetString()));
                Assert.Equal(5, rows.Count);
                Assert.Equal(2.0, rows[1].GetProperty("flops_ratio").GetDouble(), 9);      // 2 of 4 steps
                Assert.All(rows.Skip(3), r => Assert.Equal("ras revisit", r.GetProperty("family").GetString()));
                Assert.All(rows.Skip(3), r => Assert.InRange(r.GetProperty("flops_ratio").GetDouble(), 1.01, 4));
            }

            Assert.True(File.Exists(temp.File("plot.png")));
            Assert.Contains("<svg", File.ReadAllText(temp.File("plot.svg")), StringComparison.Ordinal);
            using (var candidates = JsonDocument.Parse(File.ReadAllBytes(temp.File("candidates.json"))))
            {
                Assert.Equal("eval", candidates.RootElement.GetProperty("stream").GetString());
                Assert.Equal(200, candidates.RootElement.GetProperty("prompts").GetInt32());
                Assert.Contains(4, candidates.RootElement.GetProperty("dense_steps").EnumerateArray().Select(e => e.GetInt32()));
            }

            // Again, with one configuration more: the finished rows are read back, only the new one runs.
            File.WriteAllText(grid, File.ReadAllText(grid).Replace("[2, 3, 4]", "[2, 3, 4, 1]", StringComparison.Ordinal));
            var second = CliRunner.Run(args);
            Assert.True(second.ExitCode == 0, second.Error);
            Assert.Equal(4, second.Error.Split('\n').Count(l => l.EndsWith("(cached)", StringComparison.Ordinal)));
            Assert.Contains("dense 1 steps: 4.00× fewer FLOPs", second.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public void Sweep_flags_clash_with_the_file_and_bad_files_exit_2()
    {
        string grid = temp.File("grid.json");
        File.WriteAllText(grid, """{ "dense_steps": [2], "prompts": 1 }""");
        var clash = CliRunner.Run("eval", "--model", fixture.Model, "--sweep", grid, "--prompts", "5");
        Assert.Equal(2, clash.ExitCode);
        Assert.Contains("prompts", clash.Error, StringComparison.Ordinal);

        File.WriteAllText(grid, """{ "ras": [ { "sample_ratio": 2 } ] }""");
        var bad = CliRunner.Run("eval", "--model", fixture.Model, "--sweep", grid);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("grid.json", bad.Error, StringComparison.Ordinal);

        var plotAlone = CliRunner.Run("eval", "--model", fixture.Model, "--plot", temp.File("p.svg"));
        Assert.Equal(2, plotAlone.ExitCode);
        Assert.Contains("plot", plotAlone.Error, StringComparison.Ordinal);
    }
}

using Ras.Data.Shapes;
using Ras.Errors;
using Ras.Evaluation.Sweeps;
using Ras.RegionAdaptive;

namespace Ras.Tests.Evaluation.Sweeps;

public sealed class SweepGridTests
{
    [Fact]
    public void Blocks_expand_to_their_cartesian_product_after_the_dense_rows()
    {
        var grid = SweepGrid.Parse("""
            { "stream": "validation", "prompts": 10, "reference_steps": 12, "dense_steps": [4, 8, 12],
              "ras": [ { "steps": 12, "sample_ratio": [0.75, 0.5], "selection": ["official", "revisit"], "error_reset_steps": ["default", ""] },
                       { "steps": [8, 12], "sample_ratio": 0.5, "metric": "delta", "high_ratio": 0, "dilate": 1, "sample_ratio_end": 0.25 } ] }
            """, "grid.json");

        Assert.Equal((ShapeScene.ValidationStream, 10, 12), (grid.Stream, grid.Prompts, grid.ReferenceSteps));
        Assert.Equal(3 + 8 + 2, grid.Configs.Count);
        Assert.Equal([4, 8, 12], grid.Configs.Take(3).Select(c => c.Steps));
        Assert.All(grid.Configs.Take(3), c => Assert.False(c.Ras.Enabled));
        Assert.Equal("dense", grid.Configs[0].Family);

        SweepConfig first = grid.Configs[3];
        Assert.Equal((12, 0.75, RasSelectionMode.Official, (IReadOnlyList<int>?)null), (first.Steps, first.Ras.SampleRatio, first.Ras.Selection, first.Ras.ErrorResetSteps));
        Assert.Empty(grid.Configs[4].Ras.ErrorResetSteps!);
        SweepConfig idea = grid.Configs[^1];
        Assert.Equal((12, RasMetric.Delta, 0.0, 1, 0.25), (idea.Steps, idea.Ras.Metric, idea.Ras.HighRatio, idea.Ras.Dilate, idea.Ras.SampleRatioEnd!.Value));
        Assert.Equal("ras official + delta + ratio ramp + dilate", idea.Family);
        Assert.Equal(grid.Configs.Count, grid.Configs.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [InlineData("""{ "dense_steps": [4], "colour": 1 }""", "colour")]
    [InlineData("""{ "ras": [ { "sample_ratio": [1.5] } ] }""", "ras[0]")]
    [InlineData("""{ "ras": [ { "sample_ratio": 0.5, "metric": "entropy" } ] }""", "ras[0].metric")]
    [InlineData("""{ "ras": [ { "sample_ratio": 0.5, "speed": 2 } ] }""", "ras[0].speed")]
    [InlineData("""{ "dense_steps": ["four"] }""", "dense_steps")]
    [InlineData("""{ "stream": "train", "dense_steps": [4] }""", "stream")]
    [InlineData("""{ "ras": [ { "steps": 4, "sample_ratio": 0.5, "scheduler_start_step": 9 } ] }""", "ras[0]")]
    [InlineData("""{ "prompts": 3 }""", null)]
    public void Bad_files_name_the_field(string json, string? field)
    {
        var error = Assert.ThrowsAny<RasInputException>(() => SweepGrid.Parse(json, "grid.json"));
        Assert.Contains("grid.json", error.Message, StringComparison.Ordinal);
        if (error is ConfigException config)
        {
            Assert.Equal(field, config.Field);
        }
    }

    [Fact]
    public void Not_json_is_a_clear_error()
    {
        var error = Assert.Throws<ConfigException>(() => SweepGrid.Parse("{ dense_steps: ", "grid.json"));
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }
}

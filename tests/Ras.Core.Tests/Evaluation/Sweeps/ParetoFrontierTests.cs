using Ras.Evaluation.Sweeps;

namespace Ras.Tests.Evaluation.Sweeps;

public sealed class ParetoFrontierTests
{
    [Fact]
    public void Keeps_the_points_no_other_beats_on_cost_and_quality_by_increasing_cost()
    {
        (double, double)[] points =
        [
            (1.0, 0.96),   // 0: the most expensive, best
            (0.5, 0.80),   // 1
            (0.6, 0.70),   // 2: dominated by 1
            (0.3, 0.80),   // 3: dominates 1 (cheaper, as good)
            (0.2, 0.40),   // 4
            (0.7, 0.90),   // 5
            (0.7, 0.85),   // 6: dominated by 5
        ];
        Assert.Equal([4, 3, 5, 0], ParetoFrontier.Indices(points));
    }

    [Fact]
    public void Equal_points_keep_the_first_and_an_empty_set_has_no_frontier()
    {
        Assert.Equal([0], ParetoFrontier.Indices([(0.5, 0.5), (0.5, 0.5)]));
        Assert.Empty(ParetoFrontier.Indices([]));
    }
}

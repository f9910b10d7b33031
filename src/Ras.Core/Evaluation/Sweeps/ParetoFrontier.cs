namespace Ras.Evaluation.Sweeps;

/// <summary>The Pareto frontier of quality against compute: the configurations no other one beats on both.</summary>
public static class ParetoFrontier
{
    /// <summary>
    /// The indices of <paramref name="points"/> on the frontier, by increasing cost: a point is on it when no other point
    /// costs at most as much and scores at least as well, one of the two strictly (ties keep the first).
    /// </summary>
    public static IReadOnlyList<int> Indices(IReadOnlyList<(double Cost, double Quality)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var frontier = new List<int>();
        double best = double.NegativeInfinity;
        foreach (int i in Enumerable.Range(0, points.Count).OrderBy(i => points[i].Cost).ThenByDescending(i => points[i].Quality).ThenBy(i => i))
        {
            if (points[i].Quality > best)
            {
                frontier.Add(i);
                best = points[i].Quality;
            }
        }

        return frontier;
    }
}

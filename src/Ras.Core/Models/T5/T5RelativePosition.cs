namespace Ras.Models.T5;

/// <summary>T5's bidirectional relative-position bucketing (transformers <c>_relative_position_bucket</c>, encoder).</summary>
public static class T5RelativePosition
{
    /// <summary>
    /// Bucket of distance <paramref name="distance"/> = key − query: half the buckets per direction, exact below
    /// half of that, logarithmic (evaluated in float32 and truncated, as transformers does) up to
    /// <paramref name="maxDistance"/>.
    /// </summary>
    public static long Bucket(int distance, int buckets, int maxDistance)
    {
        int half = buckets / 2;
        long bucket = distance > 0 ? half : 0;
        int n = Math.Abs(distance);
        int exact = half / 2;
        if (n < exact)
        {
            return bucket + n;
        }

        // log(n / exact) of a float32 tensor, divided by a float64 scalar rounded to float32, times an int.
        float ratio = MathF.Log(n / (float)exact) / (float)Math.Log(maxDistance / (double)exact);
        long large = exact + (long)(ratio * (half - exact));
        return bucket + Math.Min(large, half - 1);
    }
}

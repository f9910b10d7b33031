using System.Runtime;
using Ras.Native;
using Ras.Tests.TestSupport;

namespace Ras.Tests.Native;

[Collection(SerialCollection.Name)] // the no-GC region is process-wide
public sealed class CollectionPauseTests
{
    [Fact]
    public void No_collection_runs_inside_a_pause_and_the_pause_ends_on_dispose()
    {
        int before;
        var kept = new List<byte[]>();
        using (CollectionPause.Begin())
        {
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            before = GC.CollectionCount(0);
            for (int i = 0; i < 1000; i++)
            {
                kept.Add(new byte[1024]); // 1 MB, well inside the budget
            }

            Assert.Equal(before, GC.CollectionCount(0));
        }

        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.Equal(1000, kept.Count);
    }

    [Fact]
    public void A_nested_pause_is_a_no_op_and_an_exhausted_budget_ends_the_pause_without_error()
    {
        using (CollectionPause.Begin())
        {
            using (CollectionPause.Begin())
            {
                Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            }

            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode); // the inner dispose left the outer pause alone
        }

        IDisposable pause = CollectionPause.Begin(1 << 20);
        var garbage = new List<byte[]>();
        for (int i = 0; i < 64; i++)
        {
            garbage.Add(new byte[1 << 20]); // 64 MB against a 1 MB budget: the runtime collects and leaves the region
        }

        pause.Dispose();
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }
}

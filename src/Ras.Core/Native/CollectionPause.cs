using System.Runtime;

namespace Ras.Native;

/// <summary>
/// Keeps the garbage collector from starting while a block of TorchSharp calls runs. TorchSharp converts
/// numbers to <c>Scalar</c> objects implicitly (even <c>a.add(b)</c> passes an alpha of 1) and keeps no
/// reference to them while libtorch runs: a collection started in that window (by any thread) lets the
/// finalizer free the scalar mid-call, and libtorch fails with "Unknown scalar type" or a failed
/// <c>toFloat</c> check — seen twice in ~6 h of training. Inside the pause no collection can start unless the
/// block allocates more managed memory than the budget (then the pause simply ends early).
/// </summary>
public static class CollectionPause
{
    /// <summary>Managed allocation allowed inside a pause; a training step allocates a few MB.</summary>
    public const long DefaultBudgetBytes = 32L << 20;

    /// <summary>Starts a pause (a no-op when one is already active or the runtime refuses); dispose to end it.</summary>
    public static IDisposable Begin(long budgetBytes = DefaultBudgetBytes)
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            return new Pause(false);
        }

        try
        {
            return new Pause(GC.TryStartNoGCRegion(budgetBytes));
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            return new Pause(false); // budget above what this GC configuration allows, or a region began meanwhile
        }
    }

    private sealed class Pause(bool active) : IDisposable
    {
        private bool active = active;

        public void Dispose()
        {
            // Still in the region unless the budget ran out (the runtime then collected and left it).
            if (active && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                try
                {
                    GC.EndNoGCRegion();
                }
                catch (InvalidOperationException)
                {
                    // Someone induced a collection inside the region; it is over either way.
                }
            }

            active = false;
        }
    }
}

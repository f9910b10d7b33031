using Ras.Sampling;

namespace Ras.Server.Jobs;

/// <summary>Where a job is.</summary>
internal enum JobState
{
    Queued,
    Active,
    Completed,
}

/// <summary>A running job's progress: which batch, which step, how many tokens the last step computed, and its preview.</summary>
internal sealed record JobProgress(int Iteration, int Iterations, int Step, int Steps, int ComputedTokens, int TotalTokens, LatentPreview? Preview, int PreviewId)
{
    /// <summary>Share done in (0, 1): A1111's formula (a 0.01 floor), kept below 1 until the job ends.</summary>
    public double Fraction => Math.Clamp(0.01 + ((Iteration + (Steps > 0 ? Step / (double)Steps : 0)) / Math.Max(1, Iterations)), 0.01, 0.99);
}

/// <summary>
/// One request's generation: its spec, its place in the queue, its progress, and the three ways it can stop early —
/// cancel (client gone, server stopping: no result), interrupt (A1111: stop now and return what there is) and skip (stop
/// the current batch, go on with the next).
/// </summary>
internal sealed class Job : IDisposable
{
    private readonly CancellationTokenSource cancel = new();
    private readonly CancellationTokenSource interrupt = new();
    private readonly object gate = new();
    private CancellationTokenSource? skip;

    public Job(string id, GenerationSpec spec)
    {
        Id = id;
        Spec = spec;
    }

    public string Id { get; }

    public GenerationSpec Spec { get; }

    public JobState State { get; set; } = JobState.Queued;

    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;

    public DateTimeOffset? Started { get; set; }

    public volatile JobProgress? Progress;

    public bool Interrupted => interrupt.IsCancellationRequested;

    public TaskCompletionSource<GenerationResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Cancelled when the job's caller is gone or the server stops.</summary>
    public CancellationToken Cancellation => cancel.Token;

    public CancellationToken InterruptToken => interrupt.Token;

    public void Cancel()
    {
        try
        {
            cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Interrupt()
    {
        try
        {
            interrupt.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>A stop token for the next batch: signalled by interrupt or by <see cref="Skip"/>.</summary>
    public CancellationToken BeginBatch()
    {
        lock (gate)
        {
            skip?.Dispose();
            skip = CancellationTokenSource.CreateLinkedTokenSource(interrupt.Token);
            return skip.Token;
        }
    }

    public void Skip()
    {
        lock (gate)
        {
            skip?.Cancel();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            skip?.Dispose();
        }

        cancel.Dispose();
        interrupt.Dispose();
    }
}

using Ras.Native;
using System.Collections.Concurrent;
using Ras.Server.Http;

namespace Ras.Server.Jobs;

/// <summary>
/// The device's one worker and its bounded FIFO: one generation runs at a time; up to <c>capacity</c> more wait, and a
/// request beyond that gets 429 with a <c>Retry-After</c> of about one job's time. A queued job whose caller goes away is
/// removed at once; a running one is cancelled between two steps.
/// </summary>
internal sealed class GenerationQueue : IAsyncDisposable
{
    private const int RememberedCompleted = 1024;
    private readonly int capacity;
    private readonly Func<Job, CancellationToken, GenerationResult> run;
    private readonly LinkedList<Job> pending = new();
    private readonly object gate = new();
    private readonly SemaphoreSlim signal = new(0);
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> completed = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> completedOrder = new();
    private Thread? worker;
    private double averageSeconds = 5;

    public GenerationQueue(int capacity, Func<Job, CancellationToken, GenerationResult> run)
    {
        this.capacity = capacity;
        this.run = run;
    }

    /// <summary>The running job, or null.</summary>
    public Job? Active { get; private set; }

    public int Capacity => capacity;

    public int Pending
    {
        get
        {
            lock (gate)
            {
                return pending.Count;
            }
        }
    }

    /// <summary>The most jobs ever waiting at once (the load test checks it never passes <see cref="Capacity"/>).</summary>
    public int MaxPendingObserved { get; private set; }

    public long CompletedCount { get; private set; }

    public long RejectedCount { get; private set; }

    /// <summary>
    /// Starts the worker: one dedicated thread that takes jobs in order and waits for each (the generation itself runs on a
    /// thread-pool thread: measured here, running it on the dedicated thread made a 4-step ras-shapes job 2.7× slower).
    /// </summary>
    public void Start()
    {
        if (worker is null)
        {
            worker = new Thread(Work) { IsBackground = true, Name = "ras generation worker" };
            worker.Start();
        }
    }

    /// <summary>Queues <paramref name="job"/>, or throws a 429 <see cref="ApiException"/> when the queue is full or the server is stopping.</summary>
    public void Enqueue(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (gate)
        {
            if (stopping.IsCancellationRequested)
            {
                throw new ApiException(503, null, "the server is shutting down");
            }

            if (pending.Count >= capacity)
            {
                RejectedCount++;
                throw new ApiException(429, null, $"the queue is full ({capacity} waiting); retry later", TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(averageSeconds))));
            }

            pending.AddLast(job);
            MaxPendingObserved = Math.Max(MaxPendingObserved, pending.Count);
        }

        signal.Release();
    }

    /// <summary>Cancels <paramref name="job"/>: removed when waiting, stopped between steps when running.</summary>
    public void Cancel(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        bool removed;
        lock (gate)
        {
            removed = pending.Remove(job);
        }

        job.Cancel();
        if (removed)
        {
            job.Completion.TrySetCanceled();
            MarkCompleted(job);
        }
    }

    /// <summary>Where the job with <paramref name="id"/> is; for a waiting one also its 1-based place and the queue's length.</summary>
    public (JobState State, int Position, int Count)? Find(string id)
    {
        lock (gate)
        {
            if (Active is { } active && active.Id == id)
            {
                return (JobState.Active, 0, pending.Count);
            }

            int position = 0;
            foreach (Job job in pending)
            {
                position++;
                if (job.Id == id)
                {
                    return (JobState.Queued, position, pending.Count);
                }
            }
        }

        return completed.ContainsKey(id) ? (JobState.Completed, 0, 0) : null;
    }

    /// <summary>Stops taking work, cancels the running job and every waiting one (their callers get 503), and waits for the worker.</summary>
    public async Task StopAsync()
    {
        List<Job> dropped;
        lock (gate)
        {
            stopping.Cancel();
            dropped = [.. pending];
            pending.Clear();
        }

        Active?.Cancel();
        foreach (Job job in dropped)
        {
            job.Cancel();
            job.Completion.TrySetException(new ApiException(503, null, "the server is shutting down"));
        }

        signal.Release();
        if (worker is { } thread)
        {
            await Task.Run(thread.Join).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        stopping.Dispose();
        signal.Dispose();
    }

    private void Work()
    {
        while (!stopping.IsCancellationRequested)
        {
            signal.Wait();
            Job? job;
            lock (gate)
            {
                if (stopping.IsCancellationRequested || pending.First is null)
                {
                    continue;
                }

                job = pending.First.Value;
                pending.RemoveFirst();
                Active = job;
                job.State = JobState.Active;
                job.Started = DateTimeOffset.UtcNow;
            }

            try
            {
                GenerationResult result = run(job, job.Cancellation);
                job.Completion.TrySetResult(result);
            }
            catch (OperationCanceledException)
            {
                job.Completion.TrySetCanceled();
            }
#pragma warning disable CA1031 // The worker outlives any one job: every failure goes to that job's caller.
            catch (Exception e)
#pragma warning restore CA1031
            {
                job.Completion.TrySetException(e);
            }
            finally
            {
                double seconds = (DateTimeOffset.UtcNow - job.Started!.Value).TotalSeconds;
                averageSeconds = (0.7 * averageSeconds) + (0.3 * seconds);
                lock (gate)
                {
                    Active = null;
                    CompletedCount++;
                }

                MarkCompleted(job);
                NativeHeap.ReleaseGarbage();   // the job's native leftovers, before the next job allocates among them
            }
        }
    }

    private void MarkCompleted(Job job)
    {
        job.State = JobState.Completed;
        if (completed.TryAdd(job.Id, DateTimeOffset.UtcNow))
        {
            completedOrder.Enqueue(job.Id);
            while (completedOrder.Count > RememberedCompleted && completedOrder.TryDequeue(out string? old))
            {
                completed.TryRemove(old, out _);
            }
        }
    }
}

using Microsoft.AspNetCore.Http;
using Ras.Server.Http;

namespace Ras.Server.Jobs;

/// <summary>Queues a request's generation and waits for it; the request's own disconnect cancels it, queued or running.</summary>
internal static class JobRunner
{
    public static async Task<GenerationResult> RunAsync(HttpContext context, ServerState state, GenerationSpec spec, string? taskId)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(state);
        using var job = new Job(string.IsNullOrEmpty(taskId) ? ServerState.NewTaskId() : taskId, spec);
        state.Queue.Enqueue(job);
        using CancellationTokenRegistration gone = context.RequestAborted.Register(() => state.Queue.Cancel(job));
        try
        {
            return await job.Completion.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(503, null, "the server is shutting down; the job was cancelled");
        }
    }
}

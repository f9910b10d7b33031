using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.Jobs;

/// <summary>One generation at a time, a bounded FIFO, progress while it runs, interrupt, skip, and cancellation by disconnect.</summary>
public sealed class JobTests
{
    private const string Prompt = "a small red circle at the center on a blue background";

    /// <summary>A job long enough to watch (4 images of 150 steps, made one after another).</summary>
    private static object Long(string? taskId = null) => new { prompt = Prompt, steps = 150, batch_size = 4, seed = 1, force_task_id = taskId };

    private static async Task WaitUntil(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }

    private static async Task<JsonNode> Progress(TestServer server) => (await server.GetAsync("/sdapi/v1/progress?skip_current_image=false")).Body!;

    [Fact]
    public async Task Progress_while_running_interrupt_returns_200_with_what_it_has()
    {
        await using TestServer server = await TestServer.StartAsync();
        var (idleStatus, idle) = await server.GetAsync("/sdapi/v1/progress");
        Assert.Equal((200, 0.0, 0), (idleStatus, idle!["progress"]!.GetValue<double>(), idle["state"]!["job_count"]!.GetValue<int>()));

        Task<(int, JsonNode?, HttpResponseMessage)> running = server.PostAsync("/sdapi/v1/txt2img", Long());
        await WaitUntil(async () => (await Progress(server))["state"]!["sampling_step"]!.GetValue<int>() >= 2, "two steps ran");
        JsonNode busy = await Progress(server);
        double fraction = busy["progress"]!.GetValue<double>();
        Assert.InRange(fraction, 1e-9, 1 - 1e-9);
        Assert.True(busy["state"]!["job_count"]!.GetValue<int>() > 0);
        Png.Decode(Convert.FromBase64String(busy["current_image"]!.GetValue<string>()), 64, 64);

        // The cheap routes answer quickly while a job runs (median of 3 after a warm-up call).
        foreach (string route in new[] { "/sdapi/v1/progress?skip_current_image=true", "/sdapi/v1/options", "/sdapi/v1/sd-models" })
        {
            await server.GetAsync(route);
            var times = new List<double>();
            for (int i = 0; i < 3; i++)
            {
                var clock = Stopwatch.StartNew();
                await server.GetAsync(route);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }

            Assert.True(times.Order().ElementAt(1) < 200, $"{route}: median {times.Order().ElementAt(1):0} ms");
        }

        int stepBefore = (await Progress(server))["state"]!["sampling_step"]!.GetValue<int>();
        var (status, _, _) = await server.PostAsync("/sdapi/v1/interrupt", new { });
        Assert.Equal(200, status);
        var (code, body, _) = await running;
        Assert.Equal(200, code);
        JsonNode info = JsonNode.Parse(body!["info"]!.GetValue<string>())!;
        Assert.True(info["interrupted"]!.GetValue<bool>());
        Assert.Single(body["images"]!.AsArray());   // the image being made, decoded from the last finished step; the rest never start
        Assert.Matches("^Steps: 150", info["infotexts"]![0]!.GetValue<string>().Split('\n')[^1]);
        Assert.True(stepBefore < 150);
        Assert.Equal(0.0, (await Progress(server))["progress"]!.GetValue<double>());
    }

    [Fact]
    public async Task Overflow_gets_429_with_retry_after_and_per_job_progress_reports_the_queue()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { QueueSize = 1 });
        Task<(int, JsonNode?, HttpResponseMessage)> first = server.PostAsync("/sdapi/v1/txt2img", Long("task(first)"));
        await WaitUntil(async () => (await server.PostAsync("/internal/progress", new { id_task = "task(first)" })).Body!["active"]!.GetValue<bool>(), "the first job runs");
        Task<(int, JsonNode?, HttpResponseMessage)> second = server.PostAsync("/sdapi/v1/txt2img", new { prompt = Prompt, steps = 2, force_task_id = "task(second)" });
        await WaitUntil(async () => (await server.PostAsync("/internal/progress", new { id_task = "task(second)" })).Body!["queued"]!.GetValue<bool>(), "the second job waits");

        await WaitUntil(async () => (await Progress(server))["state"]!["sampling_step"]!.GetValue<int>() >= 1, "a preview exists");
        var (_, queued, _) = await server.PostAsync("/internal/progress", new { id_task = "task(second)" });
        Assert.Equal("In queue: 1/1", queued!["textinfo"]!.GetValue<string>());
        var (_, active, _) = await server.PostAsync("/internal/progress", new { id_task = "task(first)", id_live_preview = -1 });
        Assert.True(active!["active"]!.GetValue<bool>());
        Assert.StartsWith("data:image/png;base64,", active["live_preview"]!.GetValue<string>(), StringComparison.Ordinal);

        var (status, error, response) = await server.PostAsync("/sdapi/v1/txt2img", new { prompt = Prompt });
        Assert.Equal(429, status);
        Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After in whole seconds");
        Assert.Contains("queue is full", error!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (openAiStatus, openAiError, openAiResponse) = await server.PostAsync("/v1/images/generations", new { prompt = Prompt });
        Assert.Equal(429, openAiStatus);
        Assert.NotNull(openAiResponse.Headers.RetryAfter);
        Assert.Equal("rate_limit_error", openAiError!["error"]!["type"]!.GetValue<string>());

        await server.PostAsync("/sdapi/v1/interrupt", new { });
        Assert.Equal(200, (await first).Item1);
        Assert.Equal(200, (await second).Item1);
        var (_, done, _) = await server.PostAsync("/internal/progress", new { id_task = "task(second)" });
        Assert.True(done!["completed"]!.GetValue<bool>());
        var (_, caps) = await server.GetAsync("/ras/v1/capabilities");
        Assert.Equal(1, caps!["queue"]!["max_pending_observed"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_own_job_queued_or_running()
    {
        await using TestServer server = await TestServer.StartAsync();
        using var runningClient = new HttpClient { BaseAddress = server.Address };
        using var queuedClient = new HttpClient { BaseAddress = server.Address };
        using var runningGone = new CancellationTokenSource();
        using var queuedGone = new CancellationTokenSource();
        Task running = runningClient.PostAsync("/sdapi/v1/txt2img", JsonContent(Long("task(running)")), runningGone.Token);
        await WaitUntil(async () => (await server.PostAsync("/internal/progress", new { id_task = "task(running)" })).Body!["active"]!.GetValue<bool>(), "it runs");
        Task queued = queuedClient.PostAsync("/sdapi/v1/txt2img", JsonContent(Long("task(queued)")), queuedGone.Token);
        await WaitUntil(async () => (await server.PostAsync("/internal/progress", new { id_task = "task(queued)" })).Body!["queued"]!.GetValue<bool>(), "it waits");

        await queuedGone.CancelAsync();
        await WaitUntil(async () => (await server.PostAsync("/internal/progress", new { id_task = "task(queued)" })).Body!["completed"]!.GetValue<bool>(), "the waiting job is gone");
        await runningGone.CancelAsync();
        await WaitUntil(async () => (await Progress(server))["state"]!["job_count"]!.GetValue<int>() == 0, "the running job stops");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);

        // The worker is free again.
        Txt2Img next = await server.Txt2ImgAsync(new { prompt = Prompt, steps = 2 });
        Assert.Single(next.Images);
    }

    [Fact]
    public async Task Skip_ends_the_current_batch_and_the_next_one_still_runs()
    {
        await using TestServer server = await TestServer.StartAsync();
        Task<(int, JsonNode?, HttpResponseMessage)> running = server.PostAsync("/sdapi/v1/txt2img", new { prompt = Prompt, steps = 150, batch_size = 2, n_iter = 2, seed = 1 });
        await WaitUntil(async () => (await Progress(server))["state"]!["sampling_step"]!.GetValue<int>() >= 1, "the first image runs");
        await server.PostAsync("/sdapi/v1/skip", new { });
        await WaitUntil(async () => (await Progress(server))["state"]!["job_no"]!.GetValue<int>() == 1, "the second image runs");
        await server.PostAsync("/sdapi/v1/interrupt", new { });
        var (status, body, _) = await running;
        Assert.Equal(200, status);
        Assert.Equal(2, body!["images"]!.AsArray().Count);   // the skipped one and the interrupted one, both as far as they got
    }

    private static StringContent JsonContent(object body) => new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}

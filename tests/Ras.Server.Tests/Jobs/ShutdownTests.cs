using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Ras.Server.Tests.Support;

namespace Ras.Server.Tests.Jobs;

/// <summary>The real <c>ras serve</c> process: it prints its URL, and on SIGTERM (as on Ctrl+C) cancels the running job and exits 0.</summary>
public sealed partial class ShutdownTests
{
    [Fact]
    public async Task Ras_serve_prints_its_url_and_stops_cleanly_cancelling_the_running_job()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "ras.dll"), "serve", "--port", "0" })
        {
            start.ArgumentList.Add(arg);
        }

        using Process server = Process.Start(start)!;
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data is string line && UrlPattern().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        };
        server.BeginOutputReadLine();
        Task<string> errors = server.StandardError.ReadToEndAsync();
        try
        {
            Uri address = await listening.Task.WaitAsync(TimeSpan.FromMinutes(2));
            using var http = new HttpClient { BaseAddress = address };
            Task<HttpResponseMessage> running = http.PostAsync("/sdapi/v1/txt2img", new StringContent("{\"steps\": 150, \"batch_size\": 4}", Encoding.UTF8, "application/json"));
            var clock = Stopwatch.StartNew();
            while (!(await http.GetStringAsync("/sdapi/v1/progress?skip_current_image=true")).Contains("\"sampling_step\":1", StringComparison.Ordinal)
                && !(await http.GetStringAsync("/sdapi/v1/progress?skip_current_image=true")).Contains("\"sampling_step\":2", StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the job never started");
                await Task.Delay(20);
            }

            using (Process kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            {
                await kill.WaitForExitAsync();
            }

            using HttpResponseMessage answer = await running.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(503, (int)answer.StatusCode);   // answered, not reset: the job was cancelled by the shutdown
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(server.ExitCode == 0, $"exit {server.ExitCode}: {await errors}");
            lock (output)
            {
                Assert.Contains("ras serve: stopped", output.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+/)")]
    private static partial Regex UrlPattern();
}

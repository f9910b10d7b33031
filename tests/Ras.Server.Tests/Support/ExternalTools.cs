using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Ras.Server.Tests.Support;

/// <summary>
/// What the real-client tests need beyond .NET: the npm packages of <c>clients/package-lock.json</c> (installed with
/// <c>npm ci</c> when <c>node_modules</c> is missing) and Debian's <c>chromium</c> + <c>chromium-driver</c> (installed with apt-get
/// when missing and running as root, as on CI). Nothing here downloads a browser of its own.
/// </summary>
public static class ExternalTools
{
    private static readonly Lazy<string> Clients = new(InstallClients, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<(string Browser, string Driver)> Chromium = new(InstallChromium, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The repository's root (the folder with Ras.slnx).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Ras.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("Ras.slnx not found above the test binaries");
        }
    }

    /// <summary>Runs <c>node clients/SCRIPT BASE_URL</c> and parses the JSON line it prints.</summary>
    public static JsonNode RunNode(string script, Uri baseUrl)
    {
        string folder = Clients.Value;
        (int code, string output, string error) = Run("node", [Path.Combine(folder, script), baseUrl.ToString()], folder, TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"node {script} exited {code}: {error}\n{output}");
        return JsonNode.Parse(output.Trim().Split('\n')[^1])!;
    }

    public static (string Browser, string Driver) ChromiumPaths => Chromium.Value;

    private static string InstallClients()
    {
        string folder = Path.Combine(RepositoryRoot, "tests", "Ras.Server.Tests", "clients");
        if (!Directory.Exists(Path.Combine(folder, "node_modules", "node-sd-webui")))
        {
            (int code, string output, string error) = Run("npm", ["ci", "--no-audit", "--no-fund"], folder, TimeSpan.FromMinutes(5));
            Assert.True(code == 0, $"npm ci in {folder} failed ({code}): {error}\n{output}");
        }

        return folder;
    }

    private static (string, string) InstallChromium()
    {
        const string Browser = "/usr/bin/chromium";
        const string Driver = "/usr/bin/chromedriver";
        if (!File.Exists(Browser) || !File.Exists(Driver))
        {
            Assert.True(Environment.UserName == "root", "chromium and chromium-driver are missing: apt-get install -y chromium chromium-driver (.ci/run does)");
            var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
            Run("apt-get", ["update", "-qq"], "/", TimeSpan.FromMinutes(5), env);
            (int code, string output, string error) = Run("apt-get", ["install", "-y", "-qq", "chromium", "chromium-driver"], "/", TimeSpan.FromMinutes(10), env);
            Assert.True(code == 0, $"apt-get install chromium chromium-driver failed ({code}): {error}\n{output}");
        }

        return (Browser, Driver);
    }

    private static (int Code, string Output, string Error) Run(string file, string[] args, string folder, TimeSpan timeout, Dictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach ((string key, string value) in env ?? [])
        {
            start.Environment[key] = value;
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, output.Result, $"timed out after {timeout}: {error.Result}");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}

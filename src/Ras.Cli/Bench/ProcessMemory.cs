using System.Globalization;

namespace Ras.Cli.Bench;

/// <summary>Resident memory of this process from <c>/proc/self/status</c> (Linux; 0 elsewhere).</summary>
internal static class ProcessMemory
{
    /// <summary>Current resident set size in bytes (VmRSS).</summary>
    public static long ResidentBytes() => Read("VmRSS:");

    /// <summary>Peak resident set size in bytes since the process started (VmHWM).</summary>
    public static long PeakResidentBytes() => Read("VmHWM:");

    private static long Read(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return 0;
        }

        foreach (string line in File.ReadLines(status))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                string kilobytes = line[field.Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}

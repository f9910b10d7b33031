using System.Reflection;

namespace Ras.Server;

/// <summary>The server's name and version, as reported in <c>info.version</c> and the capabilities.</summary>
internal static class ServerInfo
{
    public static string Version { get; } = "ras-" + (typeof(ServerInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0");
}
